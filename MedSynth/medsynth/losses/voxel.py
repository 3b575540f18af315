"""Voxel-wise losses taken inside the head."""

from __future__ import annotations

import torch


def mean_within(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``values``, over the voxels where ``weight`` is 1 when a mask is given."""
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp_min(1.0)
