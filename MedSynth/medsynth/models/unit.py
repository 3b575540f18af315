"""UNIT (Liu et al. 2017; seed 003): VAE encoders and generators that share a latent space, with the seed's
improvements as switches: SAGAN self-attention in the encoder or the generator, spectral normalization.

An encoder is a 7x7 conv, ``n_downsample`` stride-2 4x4 convs and ``n_res`` residual blocks; a generator
(decoder) mirrors it with nearest-neighbour upsampling and 5x5 convs, ending in a 7x7 conv and tanh. The
last residual block of the two encoders and the first of the two generators are shared (the same modules):
that is UNIT's shared-latent-space assumption. The encoder's output is the mean of the latent code; training
adds unit-variance noise (UNIT's fixed-variance VAE), inference uses the mean.

:class:`UNITTranslator` is one direction, encoder A then generator B: what a model card rebuilds.
:func:`translator_pair` builds both directions with the shared blocks shared, for training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from .init import norm_layer_2d, normal_init
from .pgan import ResnetBlock

ATTENTION_PLACES = ("none", "encoder", "generator")
SPECTRAL_PARTS = ("encoder", "generator", "discriminator")


class SelfAttention(nn.Module):
    """SAGAN's block: 1x1 query, key (C/8 channels) and value convs, softmax attention over all positions,
    y = gamma * o + x with gamma starting at 0 (the block starts as the identity)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.query, self.key = nn.Conv2d(channels, inner, 1), nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # [n, hw, c/8]
        k = self.key(x).flatten(2)  # [n, c/8, hw]
        attention = torch.softmax(torch.bmm(q, k), dim=-1)  # [n, hw, hw]: row i weighs every position for i
        o = torch.bmm(self.value(x).flatten(2), attention.transpose(1, 2)).view(n, c, h, w)
        return self.gamma * o + x


class UNITEncoder(nn.Module):
    def __init__(self, in_channels: int, ngf: int, n_downsample: int, n_res: int, shared: nn.Module,
                 attention: bool, norm: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), norm_layer_2d(norm, ngf),
                                   nn.ReLU(True)]
        channels = ngf
        for _ in range(n_downsample):
            layers += [nn.Conv2d(channels, channels * 2, 4, stride=2, padding=1), norm_layer_2d(norm, channels * 2),
                       nn.ReLU(True)]
            channels *= 2
        layers += [ResnetBlock(channels, norm, 0.0) for _ in range(n_res - 1)]
        if attention:
            layers.append(SelfAttention(channels))
        self.private, self.shared = nn.Sequential(*layers), shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.private(x))


class UNITGenerator(nn.Module):
    def __init__(self, out_channels: int, ngf: int, n_downsample: int, n_res: int, shared: nn.Module,
                 attention: bool, norm: str) -> None:
        super().__init__()
        channels = ngf * 2**n_downsample
        layers: list[nn.Module] = [ResnetBlock(channels, norm, 0.0) for _ in range(n_res - 1)]
        if attention:
            layers.append(SelfAttention(channels))
        for _ in range(n_downsample):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(2),
                       nn.Conv2d(channels, channels // 2, 5), norm_layer_2d(norm, channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.shared, self.private = shared, nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.private(self.shared(z))


class UNITTranslator(nn.Module):
    """Encoder of domain A, generator of domain B: A -> B through the shared latent space."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64, n_downsample: int = 2,
                 n_res: int = 4, self_attention: str = "none", spectral_norm: Sequence[str] = (),
                 norm: str = "instance") -> None:
        super().__init__()
        if self_attention not in ATTENTION_PLACES:
            raise ValueError(f"self_attention must be one of {', '.join(ATTENTION_PLACES)}, got {self_attention!r}")
        unknown = sorted(set(spectral_norm) - set(SPECTRAL_PARTS))
        if unknown:
            raise ValueError(f"spectral_norm takes {', '.join(SPECTRAL_PARTS)}, got {unknown}")
        if ngf < 1 or n_res < 1 or not 0 <= n_downsample <= 6:
            raise ValueError(f"ngf and n_res must be positive and n_downsample 0 to 6, got {ngf}, {n_res}, "
                             f"{n_downsample}")
        width = ngf * 2**n_downsample
        self.settings = dict(ngf=ngf, n_downsample=n_downsample, n_res=n_res, norm=norm)
        self.encoder = UNITEncoder(in_channels, ngf, n_downsample, n_res, ResnetBlock(width, norm, 0.0),
                                   self_attention == "encoder", norm)
        self.generator = UNITGenerator(out_channels, ngf, n_downsample, n_res, ResnetBlock(width, norm, 0.0),
                                       self_attention == "generator", norm)
        self.self_attention, self.spectral = self_attention, tuple(spectral_norm)
        normal_init(self)
        for part in ("encoder", "generator"):
            if part in self.spectral:
                normalize_spectrally(getattr(self, part))
        self.spatial_dims, self.size_divisor, self.in_channels = 2, 2**n_downsample, in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(x))  # the latent code's mean: no noise at inference


def translator_pair(in_channels: int = 1, out_channels: int = 1, **hyperparameters) -> tuple[UNITTranslator,
                                                                                              UNITTranslator]:
    """A -> B and B -> A translators whose encoders share their last block and whose generators share their
    first: (E_A, G_B) and (E_B, G_A), built with the same initialization as one translator would be."""
    ab = UNITTranslator(in_channels, out_channels, **hyperparameters)
    ba = UNITTranslator(out_channels, in_channels, **hyperparameters)
    ba.encoder.shared, ba.generator.shared = ab.encoder.shared, ab.generator.shared
    return ab, ba


def normalize_spectrally(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al.) on every convolution of ``module`` not already normalized."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d) and not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer)
    return module
