"""The result of a synthesis run; torch-free, so the Slicer side can hold one without loading the engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..volume import Volume


@dataclass
class Synthesis:
    """A synthetic volume, when asked for its voxel-wise uncertainty (target intensity units), and where the
    model's card records its training inputs, the untrusted mask (1: input tissue unlike any it was trained
    on, ``medsynth.trust``)."""

    image: Volume
    uncertainty: Volume | None = None
    warnings: list[str] = field(default_factory=list)  # the input lies outside the model's training domain
    untrusted: Volume | None = None
    brain: Volume | None = None  # with skull stripping: the brain mask the model ran inside (1 inside)
    uncertain_share: float | None = None  # with uncertainty: of the head above the model's calibrated error threshold
