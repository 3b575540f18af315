"""Nie et al. 2018's 3D synthesis GAN (seeds 001/002): dilated fully convolutional generator and its
3D conditional discriminator.

The generator is a :class:`ConvNet` with the paper's layout: 9 conv + batch norm + LeakyReLU layers,
kernels 9,3,3,3,9,3,3,7,3, filters 32,32,32,64,64,64,32,32,1, dilation 1 for the first and last layer
and 2 for the others, "same" padding and no pooling, so any patch size works; without convolution biases
it has 3,638,592 trainable parameters (3,639,296 with batch-norm running statistics, as seed 002's Keras
summary counts them). ``residual=True`` is ResGAN's input-output skip.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .convnet import ConvNet

NIE_FILTERS = (32, 32, 32, 64, 64, 64, 32, 32, 1)
NIE_KERNELS = (9, 3, 3, 3, 9, 3, 3, 7, 3)
NIE_DILATIONS = (1, 2, 2, 2, 2, 2, 2, 2, 1)


class NieGenerator(ConvNet):
    def __init__(
        self,
        in_channels: int = 1,
        filters: Sequence[int] = NIE_FILTERS,
        kernels: Sequence[int] = NIE_KERNELS,
        dilations: Sequence[int] = NIE_DILATIONS,
        norm: str = "batch",
        negative_slope: float = 0.2,
        bias: bool = False,
        residual: bool = False,
    ) -> None:
        super().__init__(3, in_channels, filters, kernels, dilations, norm, negative_slope, bias, residual)


class NieDiscriminator(nn.Module):
    """Four stages of 3x3x3 conv (with bias) + batch norm + LeakyReLU + 2x max-pool (32, 64, 128, 256
    filters), then fully connected 512, 128, 1 with LeakyReLU, LeakyReLU and a sigmoid. It sees the source
    and a real or synthetic target patch as two channels; ``patch_size`` fixes the dense layers' input."""

    def __init__(self, in_channels: int = 2, patch_size: int = 32, filters: Sequence[int] = (32, 64, 128, 256),
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        stages = len(filters)
        if patch_size % 2**stages:
            raise ValueError(f"patch_size must be a multiple of {2**stages}, got {patch_size}")
        layers: list[nn.Module] = []
        channels = in_channels
        for f in filters:
            layers += [nn.Conv3d(channels, f, 3, padding=1), nn.BatchNorm3d(f), nn.LeakyReLU(negative_slope),
                       nn.MaxPool3d(2)]
            channels = f
        side = patch_size // 2**stages
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * side**3, 512), nn.LeakyReLU(negative_slope),
            nn.Linear(512, 128), nn.LeakyReLU(negative_slope), nn.Linear(128, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class AutoContextCascade(nn.Module):
    """Auto-context model (seed 001): ``stages`` generators in a chain. Stage 1 sees the source patch;
    stage k sees the source and stage k-1's synthetic patch as two channels. Trained stage by stage
    (``stages_to_run`` limits the chain), run as a whole at inference, saved as one model file. With
    ``residual``, stage 1 adds the source (ResGAN) and each later stage adds its predecessor's output, so
    it learns a correction of the estimate it refines."""

    def __init__(self, stages: int = 2, in_channels: int = 1, filters: Sequence[int] = NIE_FILTERS,
                 kernels: Sequence[int] = NIE_KERNELS, dilations: Sequence[int] = NIE_DILATIONS,
                 norm: str = "batch", negative_slope: float = 0.2, bias: bool = False,
                 residual: bool = False) -> None:
        super().__init__()
        if stages < 1:
            raise ValueError(f"stages must be at least 1, got {stages}")
        self.stages = nn.ModuleList(
            NieGenerator(in_channels + (1 if k else 0), filters, kernels, dilations, norm, negative_slope, bias,
                         residual)
            for k in range(stages)
        )
        self.in_channels = in_channels
        self.size_divisor = 1
        self.spatial_dims = 3

    def forward(self, x: torch.Tensor, stages_to_run: int | None = None) -> torch.Tensor:
        count = len(self.stages) if stages_to_run is None else stages_to_run
        if not 1 <= count <= len(self.stages):
            raise ValueError(f"stages_to_run must be between 1 and {len(self.stages)}, got {count}")
        y = self.stages[0](x)
        for stage in self.stages[1:count]:
            y = stage(torch.cat([x, y], 1))
        return y

    def truncated(self, count: int) -> AutoContextCascade:
        """The chain of the first ``count`` stages as a cascade of its own (sharing their weights): what
        a cascade trained stage by stage has learned so far, runnable and savable as one model."""
        if not 1 <= count <= len(self.stages):
            raise ValueError(f"count must be between 1 and {len(self.stages)}, got {count}")
        chain = AutoContextCascade.__new__(AutoContextCascade)
        nn.Module.__init__(chain)
        chain.stages = nn.ModuleList(self.stages[:count])
        chain.in_channels, chain.size_divisor, chain.spatial_dims = self.in_channels, 1, 3
        return chain
