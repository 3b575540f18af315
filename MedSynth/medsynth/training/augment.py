"""Batch augmentation for paired slices and patches: the same geometric transform on source, target and
foreground mask, intensity changes on the source only (so the network learns the mapping, not a particular
scanner's scale: gamma and gain here, monotone curves and bias fields in ``scanner.py``). 3D patches get
the left-right flip and the intensity changes; rotation, scaling and shift are 2D only."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import AugmentConfig
from .scanner import simulate_scanner


def augment(
    source: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    config: AugmentConfig,
    generator: torch.Generator,
    fill: tuple[float, float],
    flip_dim: int = -1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Augment a batch ``(N, C, H, W)`` or ``(N, C, D, H, W)`` and its ``(N, 1, ...)`` foreground mask;
    random draws come from ``generator`` only (reproducible). ``flip_dim``: the left-right spatial axis of
    a 3D batch."""
    n = source.shape[0]
    u = torch.rand(n, 6, generator=generator)
    if source.ndim == 5:
        flip = (u[:, 3] < 0.5) & torch.tensor(config.flip)
        dim = 2 + flip_dim % 3
        source, target, mask = (torch.where(flip.view(n, 1, 1, 1, 1), x.flip(dim), x) for x in (source, target, mask))
        return _intensity(source, u, config, generator), target, mask
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
        mask = (_resample(mask, grid, 0.0) > 0.5).to(mask.dtype)
    return _intensity(source, u, config, generator), target, mask


def _intensity(source: torch.Tensor, u: torch.Tensor, config: AugmentConfig,
               generator: torch.Generator) -> torch.Tensor:
    return _jitter(simulate_scanner(source, config, generator), u, config.intensity)


def _jitter(source: torch.Tensor, u: torch.Tensor, strength: float) -> torch.Tensor:
    """Random gamma and gain within each sample's own intensity range."""
    if strength <= 0:
        return source
    shape = (len(source),) + (1,) * (source.ndim - 1)
    gamma = torch.exp((u[:, 4] * 2 - 1) * strength).view(shape)
    gain = (1 + (u[:, 5] * 2 - 1) * strength / 2).view(shape)
    dims = tuple(range(1, source.ndim))
    lo, hi = source.amin(dim=dims, keepdim=True), source.amax(dim=dims, keepdim=True)
    unit = ((source - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)
    return (unit.pow(gamma) * gain).clamp(0, 1) * (hi - lo) + lo


def _resample(x: torch.Tensor, grid: torch.Tensor, fill: float) -> torch.Tensor:
    # grid_sample pads with zeros: shift so that zero is the background value.
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def epoch_seed(seed: int, epoch: int) -> int:
    """One seed per (run seed, epoch): resuming at an epoch boundary replays the same random draws."""
    return (seed * 1_000_003 + epoch * 7_919) % (2**63 - 1) or int(math.pi * 1e6)
