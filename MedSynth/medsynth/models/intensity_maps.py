"""Non-learned baselines as voxel-wise models (the voxel-wise engine).

They map each voxel's normalized source intensity to a normalized target intensity, so they share the
checkpoint format, catalog and synthesis pipeline of the networks, and every network can be reported
next to them:

- ``identity``: the source image itself, rescaled to the target contrast's typical intensity range
  (the rescaling is the card's source normalization followed by the target's inverse normalization).
- ``histogram_matching``: monotone map taking the input's own foreground quantiles to the target
  contrast's mean quantiles over the training subjects.
- ``joint_histogram``: conditional mean E[target | source] from the joint histogram of co-registered
  training pairs, linearly interpolated between bins. Unlike the two others it can invert contrast
  (dark CSF on T1 -> bright CSF on T2), but it cannot tell apart tissues that look alike in the source.

``forward`` receives a 1D tensor of foreground voxels of one volume (the voxel-wise engine passes all of
them at once, which histogram matching needs).
"""

from __future__ import annotations

import torch
from torch import nn


def interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation like ``numpy.interp`` (constant beyond the ends)."""
    idx = torch.searchsorted(xp.contiguous(), x.contiguous()).clamp(1, xp.numel() - 1)
    x0, x1 = xp[idx - 1], xp[idx]
    w = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0.0, 1.0)
    return fp[idx - 1] + w * (fp[idx] - fp[idx - 1])


class IdentityMap(nn.Module):
    size_divisor = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


class HistogramMatching(nn.Module):
    size_divisor = 1

    def __init__(self, levels: int = 256) -> None:
        super().__init__()
        if levels < 2:
            raise ValueError(f"levels must be at least 2, got {levels}")
        self.register_buffer("target_quantiles", torch.linspace(-1.0, 1.0, levels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.linspace(0.0, 1.0, self.target_quantiles.numel(), dtype=torch.float64, device=x.device)
        sample = x if x.numel() <= 4_000_000 else x[:: x.numel() // 4_000_000 + 1]  # torch.quantile limit
        source_quantiles = torch.quantile(sample.double(), q).to(x.dtype)
        source_quantiles = torch.cummax(source_quantiles, 0).values
        return interp(x, source_quantiles, self.target_quantiles.to(x.dtype))


class JointHistogramMap(nn.Module):
    size_divisor = 1

    def __init__(self, bins: int = 256) -> None:
        super().__init__()
        if bins < 2:
            raise ValueError(f"bins must be at least 2, got {bins}")
        self.register_buffer("bin_centers", torch.linspace(-1.0, 1.0, bins))
        self.register_buffer("conditional_mean", torch.linspace(-1.0, 1.0, bins))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return interp(x, self.bin_centers.to(x.dtype), self.conditional_mean.to(x.dtype))


class JointHistogram2D(nn.Module):
    """E[target | input 1, input 2] on a ``bins`` x ``bins`` grid of the two inputs' normalized intensities,
    interpolated bilinearly: the fair voxel-wise baseline of a two-input (many-to-one) model. Input is a
    ``(voxels, 2)`` table."""

    size_divisor = 1

    def __init__(self, bins: int = 64) -> None:
        super().__init__()
        if bins < 2:
            raise ValueError(f"bins must be at least 2, got {bins}")
        self.register_buffer("lo", torch.tensor([-1.0, -1.0]))
        self.register_buffer("hi", torch.tensor([1.0, 1.0]))
        self.register_buffer("table", torch.zeros(bins, bins))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bins = self.table.shape[0]
        position = ((x - self.lo.to(x.dtype)) / (self.hi - self.lo).to(x.dtype) * (bins - 1)).clamp(0, bins - 1)
        low = position.floor().long().clamp(max=bins - 2)
        w = position - low
        table = self.table.to(x.dtype)
        a, b = low[:, 0], low[:, 1]
        top = table[a, b] * (1 - w[:, 1]) + table[a, b + 1] * w[:, 1]
        bottom = table[a + 1, b] * (1 - w[:, 1]) + table[a + 1, b + 1] * w[:, 1]
        return top * (1 - w[:, 0]) + bottom * w[:, 0]
