"""The inference engines by name: how a model of each kind runs over a normalized array.

Synthesis (``engine.py``) and validation during training (``training/validate.py``) both run models through
this one registry. The engines' names and spatial dimensions are declared without torch in
``medsynth.core.architectures`` (``ENGINES``, ``ENGINE_DIMS``), which the card checks; a new engine is a runner
here and its name there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.architectures import ENGINES
from .patchwise import run_patchwise
from .slicewise import run_slicewise


@dataclass
class Pass:
    """One pass over an array besides the model: where the background goes, what to run, and each engine's
    settings (an engine reads the ones it has)."""

    background: float
    mask: np.ndarray | None  # the foreground to run (None: everything)
    reporter: Callable  # reporter factory: total -> medsynth.core.progress.Reporter
    axis: int = 0  # slicewise: the array axis of the slices
    context: int = 0  # slicewise: neighbouring slices on each side as input channels
    patch_size: Any = 32  # patchwise
    stride: Any = 16  # patchwise
    blend: str = "gaussian"  # patchwise
    batch_size: int = 8
    margin: int = 8
    device: Any = None
    precision: str = "fp32"


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


def _voxelwise(model, x: np.ndarray, p: Pass) -> np.ndarray:
    return run_voxelwise(model, x, p.background, p.mask, p.reporter)


def _slicewise(model, x: np.ndarray, p: Pass) -> np.ndarray:
    return run_slicewise(model, x, p.axis, p.background, p.mask, p.reporter, batch_size=p.batch_size,
                         context=p.context, margin=p.margin, device=p.device, precision=p.precision)


def _patchwise(model, x: np.ndarray, p: Pass) -> np.ndarray:
    return run_patchwise(model, x, p.background, p.mask, p.reporter, patch_size=p.patch_size, stride=p.stride,
                         blend=p.blend, batch_size=p.batch_size, margin=p.margin, device=p.device,
                         precision=p.precision)


RUNNERS: dict[str, Callable[[Any, np.ndarray, Pass], np.ndarray]] = {
    "voxelwise": _voxelwise, "slicewise": _slicewise, "patchwise": _patchwise}
if set(RUNNERS) != set(ENGINES):  # pragma: no cover - a programming error, caught by any import
    raise ImportError(f"inference engines {sorted(RUNNERS)} differ from the declared {sorted(ENGINES)}")


def run_engine(engine: str, model, x: np.ndarray, settings: Pass) -> np.ndarray:
    """``model`` over the normalized array ``x`` with the engine named ``engine``."""
    return RUNNERS[engine](model, x, settings)
