"""Gradient difference loss (Mathieu et al. 2016; used by Nie et al. 2018, seeds 001/002)."""

from __future__ import annotations

import torch


def gradient_difference_loss(prediction: torch.Tensor, target: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """Mean over voxels and axes of ``| |d target| - |d prediction| | ** power``.

    ``d`` is the forward difference between neighbouring voxels along each spatial axis: x and y for 2D
    ``(N, C, H, W)`` slices, x, y and z for 3D ``(N, C, D, H, W)`` patches. It penalizes blurred edges,
    which a voxel-wise L1/L2 loss alone tolerates. Each axis contributes the mean over its differences.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")
    if prediction.dim() not in (4, 5):
        raise ValueError(f"expected (N, C, H, W) or (N, C, D, H, W) tensors, got {prediction.dim()} dimensions")
    terms = []
    for axis in range(2, prediction.dim()):
        grad_p = torch.diff(prediction, dim=axis).abs()
        grad_t = torch.diff(target, dim=axis).abs()
        terms.append((grad_t - grad_p).abs().pow(power).mean())
    return torch.stack(terms).sum()
