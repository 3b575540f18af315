"""PatchGAN discriminator (pix2pix, 70x70 receptive field with ``n_layers=3``), conditioned on the source.

It sees the source slice(s) and a real or synthetic target as channels and scores every 70x70 patch
(logits, no sigmoid: the adversarial losses apply their own).
"""

from __future__ import annotations

import torch
from torch import nn

from .init import norm_layer_2d, normal_init


class PatchGANDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 2, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 spectral_norm: bool = False) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            previous, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * previous, ndf * mult, 4, stride=stride, padding=1),
                       norm_layer_2d(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        normal_init(self)
        if spectral_norm:  # UNIT's improvement (seed 003); applied after the initialization it rescales
            from .unit import normalize_spectrally

            normalize_spectrally(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
