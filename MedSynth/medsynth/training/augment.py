"""Batch augmentation for paired slices: the same geometric transform on source and target, intensity
jitter on the source only (so the network learns the mapping, not a particular scanner's scale)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import AugmentConfig


def augment(
    source: torch.Tensor,
    target: torch.Tensor,
    config: AugmentConfig,
    generator: torch.Generator,
    fill: tuple[float, float],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a batch ``(N, C, H, W)``; random draws come from ``generator`` only (reproducible)."""
    n = source.shape[0]
    u = torch.rand(n, 6, generator=generator)
    apply = u[:, 0] < config.probability
    angle = torch.deg2rad((u[:, 1] * 2 - 1) * config.rotate) * apply
    scale = 1 + (u[:, 2] * 2 - 1) * config.scale * apply
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * config.shift * apply[:, None]
    flip = torch.where((u[:, 3] < 0.5) & torch.tensor(config.flip), -1.0, 1.0)
    if apply.any() or (flip < 0).any():
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                             torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(source.dtype), list(source.shape), align_corners=False)
        source = _resample(source, grid, fill[0])
        target = _resample(target, grid, fill[1])
    if config.intensity > 0:
        gamma = torch.exp((u[:, 4] * 2 - 1) * config.intensity).view(n, 1, 1, 1)
        gain = (1 + (u[:, 5] * 2 - 1) * config.intensity / 2).view(n, 1, 1, 1)
        lo = source.amin(dim=(1, 2, 3), keepdim=True)
        hi = source.amax(dim=(1, 2, 3), keepdim=True)
        unit = ((source - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)
        source = (unit.pow(gamma) * gain).clamp(0, 1) * (hi - lo) + lo
    return source, target


def _resample(x: torch.Tensor, grid: torch.Tensor, fill: float) -> torch.Tensor:
    # grid_sample pads with zeros: shift so that zero is the background value.
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def epoch_seed(seed: int, epoch: int) -> int:
    """One seed per (run seed, epoch): resuming at an epoch boundary replays the same random draws."""
    return (seed * 1_000_003 + epoch * 7_919) % (2**63 - 1) or int(math.pi * 1e6)
