"""Voxel-wise inference of intensity-mapping baselines."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def run_voxelwise(
    model: nn.Module, image: np.ndarray, background: float, mask: np.ndarray | None, reporter_factory
) -> np.ndarray:
    """Apply ``model`` to all foreground voxels at once (histogram matching needs them together)."""
    reporter = reporter_factory(1)
    out = np.full(image.shape, background, dtype=np.float32)
    select = mask if mask is not None else np.ones(image.shape, dtype=bool)
    with torch.inference_mode():
        out[select] = model(torch.from_numpy(image[select])).float().numpy()
    reporter.step()
    return out
