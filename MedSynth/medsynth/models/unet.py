"""U-Net generator after pix2pix's ``unet_256``: a baseline architecture for paired 2D synthesis.

``num_downs`` stride-2 stages (8 takes a 256x256 slice down to 1x1), skip connections by concatenation
between mirrored stages, dropout in the three innermost decoder stages as in pix2pix, tanh output.
Inputs must be a multiple of ``2**num_downs`` (``size_divisor``); the inference engine pads for that.
"""

from __future__ import annotations

import torch
from torch import nn

from .init import norm_layer_2d, normal_init


class _UnetStage(nn.Module):
    """down -> (inner stage) -> up, with the stage input concatenated to its output (except outermost)."""

    def __init__(self, outer: int, inner: int, in_channels: int | None, submodule: nn.Module | None,
                 outermost: bool, innermost: bool, norm: str, dropout: float) -> None:
        super().__init__()
        self.outermost = outermost
        in_channels = outer if in_channels is None else in_channels
        down = [nn.Conv2d(in_channels, inner, 4, stride=2, padding=1)]
        if outermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), nn.Tanh()]
            layers = [*down, submodule, *up]
        elif innermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1), norm_layer_2d(norm, outer)]
            layers = [nn.LeakyReLU(0.2, True), *down, *up]
        else:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1),
                  norm_layer_2d(norm, outer)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
            layers = [nn.LeakyReLU(0.2, True), *down, norm_layer_2d(norm, inner), submodule, *up]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64, num_downs: int = 8,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5 (pix2pix's U-Net shape), got {num_downs}")
        stage = _UnetStage(ngf * 8, ngf * 8, None, None, False, True, norm, 0.0)
        for _ in range(num_downs - 5):
            stage = _UnetStage(ngf * 8, ngf * 8, None, stage, False, False, norm, dropout)
        for mult in (4, 2, 1):
            stage = _UnetStage(ngf * mult, ngf * mult * 2, None, stage, False, False, norm, 0.0)
        self.net = _UnetStage(out_channels, ngf, in_channels, stage, True, False, norm, 0.0)
        self.size_divisor = 2**num_downs
        self.spatial_dims = 2
        self.in_channels = in_channels
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
