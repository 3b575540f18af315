"""Voxel-wise inference of intensity-mapping baselines."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def run_voxelwise(
    model: nn.Module, image: np.ndarray, background: float, mask: np.ndarray | None, reporter_factory
) -> np.ndarray:
    """Apply ``model`` to all foreground voxels at once (histogram matching needs them together); several
    inputs ``[input, k, j, i]`` reach it as one ``(voxels, inputs)`` table."""
    reporter = reporter_factory(1)
    shape = image.shape if image.ndim == 3 else image.shape[1:]
    out = np.full(shape, background, dtype=np.float32)
    select = mask if mask is not None else np.ones(shape, dtype=bool)
    values = image[select] if image.ndim == 3 else np.ascontiguousarray(image[:, select].T)
    with torch.inference_mode():
        out[select] = model(torch.from_numpy(values)).float().numpy()
    reporter.step()
    return out
