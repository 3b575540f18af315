"""Whole-volume evaluation of a generator during training, in normalized intensities.

Seed 000 reports PSNR and L1 between images normalized per subject to [-1, 1]; here each synthetic and
real target are rescaled together to [0, 1] by the real target's normalized range, then PSNR, SSIM and
MAE are computed inside the head mask and over the whole image (``metrics.compare``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..baselines import BASELINES, fit_baseline
from ..core.progress import Reporter
from ..inference.engines import Pass, run_engine
from ..io import read_volume
from ..metrics import compare
from .config import DataConfig
from .data import PairedSubject, discover, load_subject, normalization_for


def synthesize_normalized(model: nn.Module, subject: PairedSubject, context: int, device: torch.device,
                          batch_size: int = 8, engine: str = "slicewise", patch_size: int = 32,
                          stride: int | str = "full", blend: str = "gaussian") -> np.ndarray:
    """The model's output inside the head (the subject's array layout, normalized intensities).

    ``engine`` "voxelwise" runs an intensity-mapping baseline voxel by voxel, so baselines are judged exactly
    like the generators they are compared with; "patchwise" runs a 3D model (``stride="full"``: one
    pass over the head's bounding box) through the inference engine.
    """
    was_training = model.training
    model.eval()
    what = "baseline" if engine == "voxelwise" else "validation"
    settings = Pass(subject.target_fill, subject.mask, lambda total: Reporter(total, None, None, what),
                    context=context, patch_size="full" if stride == "full" else patch_size, stride=stride,
                    blend=blend, batch_size=batch_size, device=device)
    try:
        return run_engine(engine, model, subject.source, settings)  # slices along the subject's axis 0
    finally:
        model.train(was_training)


def evaluate_subject(synthetic: np.ndarray, subject: PairedSubject) -> dict[str, dict[str, float]]:
    lo, hi = float(subject.target.min()), float(subject.target.max())
    scale = max(hi - lo, 1e-6)
    geometry = subject.geometry
    to_grid = lambda a: geometry.with_array(np.moveaxis((a - lo) / scale, 0, subject.axis))  # noqa: E731
    mask = np.moveaxis(subject.mask, 0, subject.axis)
    return compare(to_grid(synthetic), to_grid(subject.target), mask, data_range=1.0, planes=False)


def evaluate(model: nn.Module, subjects: list[PairedSubject], context: int, device: torch.device,
             **options) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Mean metrics over ``subjects`` (head mask), per-subject metrics, and the synthetic volumes;
    ``options`` go to :func:`synthesize_normalized`."""
    per_subject, volumes = {}, {}
    for subject in subjects:
        volumes[subject.name] = synthesize_normalized(model, subject, context, device, **options)
        per_subject[subject.name] = evaluate_subject(volumes[subject.name], subject)
    keys = ("psnr", "ssim_3d", "mae")
    mean = {k: float(np.mean([m["mask"][k] for m in per_subject.values()])) for k in keys}
    mean.update({f"whole_{k}": float(np.mean([m["whole"][k] for m in per_subject.values()])) for k in keys})
    return mean, per_subject, volumes


def baseline_metrics(data: DataConfig, train: list[str], test: list[str], spatial_dims: int = 2,
                     test_data: DataConfig | None = None) -> dict[str, dict[str, float]]:
    """The three non-learned baselines fitted on ``train`` and measured on ``test`` exactly like a generator
    of ``spatial_dims`` (same normalization, so the same intensity scale for the metrics). ``test_data``:
    the test subjects come from another dataset (an external test set)."""
    subjects = discover(data)
    pairs = [(read_volume(subjects[n][data.source]), read_volume(subjects[n][data.target]), None) for n in train]
    test_data = test_data or data
    test_files = subjects if test_data is data else discover(test_data)
    tests = [load_subject(n, test_files[n], test_data, spatial_dims) for n in test]
    norms = tuple(normalization_for(c, data, spatial_dims) for c in (data.source, data.target))
    out = {}
    for kind in BASELINES:
        model, _ = fit_baseline(kind, pairs, data.source, data.target, normalizations=norms)
        mean, _, _ = evaluate(model.eval(), tests, 0, torch.device("cpu"), engine="voxelwise")
        out[f"baseline {kind}"] = {k: mean[k] for k in ("psnr", "ssim_3d", "mae")}
    return out
