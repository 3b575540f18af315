"""A plain fully convolutional network (conv + norm + activation, no pooling), 2D or 3D.

It is the simplest learned image-to-image mapping and the building block of Nie et al.'s generator
(seeds 001/002): kernels, filters and dilations are lists, padding keeps the size, so any input size
works. One class serves 2D and 3D through ``spatial_dims``, as MONAI's networks do.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_NORMS = ("batch", "instance", "none")


class ConvNet(nn.Module):
    """``len(filters)`` conv layers; the last one is linear (no norm/activation) and gives the output."""

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        filters: Sequence[int] = (32, 32, 1),
        kernels: Sequence[int] = (3, 3, 3),
        dilations: Sequence[int] | None = None,
        norm: str = "batch",
        negative_slope: float = 0.2,
        bias: bool = True,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        dilations = [1] * len(filters) if dilations is None else list(dilations)
        if not len(filters) == len(kernels) == len(dilations):
            raise ValueError("filters, kernels and dilations must have the same length")
        if any(k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be odd so padding keeps the size, got {list(kernels)}")
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {', '.join(_NORMS)}, got {norm!r}")
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        norm_layer = {"batch": (nn.BatchNorm2d, nn.BatchNorm3d), "instance": (nn.InstanceNorm2d, nn.InstanceNorm3d)}
        layers: list[nn.Module] = []
        channels = in_channels
        for index, (f, k, d) in enumerate(zip(filters, kernels, dilations, strict=True)):
            last = index == len(filters) - 1
            layers.append(conv(channels, f, k, padding=d * (k - 1) // 2, dilation=d, bias=bias))
            if not last:
                if norm != "none":
                    layers.append(norm_layer[norm][spatial_dims - 2](f))
                layers.append(nn.LeakyReLU(negative_slope))
            channels = f
        self.net = nn.Sequential(*layers)
        self.residual = residual
        self.size_divisor = 1
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        if self.residual:  # ResGAN-style input-output skip: learn the difference to the centre channel
            y = y + x[:, x.shape[1] // 2 : x.shape[1] // 2 + 1]
        return y
