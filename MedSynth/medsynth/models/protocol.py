"""What the trainer and the inference engines need to know of a generator, without probing signatures."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SynthesisNetwork(Protocol):
    """A generator network: 2D (slice engine) or 3D (patch engine), taking ``in_channels`` input channels
    (inputs x neighbouring slices), on images whose sides are multiples of ``size_divisor``."""

    spatial_dims: int
    size_divisor: int
    in_channels: int
