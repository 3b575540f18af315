"""pGAN's ResNet generator (Dar et al. 2019) with optional dense skips among the last blocks (seed 000).

Encoder: 7x7 conv, then two 3x3 stride-2 convs (width ngf, 2ngf, 4ngf); bottleneck: ``n_blocks``
residual blocks at 4ngf; decoder: two 3x3 stride-2 transposed convs, then a 7x7 conv to the output and
tanh. Instance norm, reflection padding, biases on (pix2pix's ``resnet_9blocks``). Neighbouring slices
can be given as extra input channels (2.5D).

Dense skips (Mirza et al.): the last ``dense_blocks`` residual blocks are connected DenseNet-style. The
input of dense block i is the *concatenation* of the group's input and of every earlier dense block's
output, reduced back to 4ngf channels by a 1x1 conv; the group's output is likewise a 1x1 conv of all of
them. Concatenation (not summation) is what lets the network weigh each earlier block's features
separately, and so bypass a block that does not help, the property the seed credits for the gain; the
1x1 "transition" convs keep every block at the bottleneck width so the blocks themselves are unchanged.
With ``dense_blocks=0`` the network is exactly the plain pGAN generator.
"""

from __future__ import annotations

import torch
from torch import nn

from .init import norm_layer_2d, normal_init


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded."""

    def __init__(self, channels: int, norm: str, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer_2d(norm, channels), nn.ReLU(True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer_2d(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class DenseBlockGroup(nn.Module):
    """Residual blocks with DenseNet-style concatenated inputs (see the module docstring)."""

    def __init__(self, blocks: list[ResnetBlock], channels: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        # transitions[i] feeds block i+1 from i+1 earlier feature maps; the last one makes the output.
        self.transitions = nn.ModuleList(
            nn.Conv2d(channels * (i + 1), channels, 1) for i in range(1, len(blocks) + 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for index, block in enumerate(self.blocks):
            inputs = features[0] if index == 0 else self.transitions[index - 1](torch.cat(features, 1))
            features.append(block(inputs))
        return self.transitions[-1](torch.cat(features, 1))


class PGANGenerator(nn.Module):
    """pGAN ResNet generator; ``dense_blocks`` of the last residual blocks densely connected."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        ngf: int = 64,
        n_blocks: int = 9,
        dense_blocks: int = 0,
        norm: str = "instance",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 <= dense_blocks <= n_blocks:
            raise ValueError(f"dense_blocks must be between 0 and n_blocks ({n_blocks}), got {dense_blocks}")
        if ngf < 1 or n_blocks < 0:
            raise ValueError(f"ngf must be positive and n_blocks non-negative, got {ngf} and {n_blocks}")
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), norm_layer_2d(norm, ngf), nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                       norm_layer_2d(norm, ngf * mult * 2), nn.ReLU(True)]
        width = ngf * 4
        blocks = [ResnetBlock(width, norm, dropout) for _ in range(n_blocks)]
        plain = n_blocks - dense_blocks
        layers += blocks[:plain]
        if dense_blocks:
            layers.append(DenseBlockGroup(blocks[plain:], width))
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       norm_layer_2d(norm, ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.size_divisor = 4  # two stride-2 stages
        self.spatial_dims = 2
        self.in_channels = in_channels
        normal_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
