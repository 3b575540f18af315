"""Fitting the non-learned baselines (identity, histogram matching, joint histogram) on training pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .core import intensity
from .core.card import ModelCard
from .core.contrasts import canonical_contrast
from .core.errors import ConfigError
from .mask import foreground_mask
from .models import build_model
from .volume import Volume

BASELINES = ("identity", "histogram_matching", "joint_histogram")
Pair = tuple[Volume, Volume, np.ndarray | None]  # source, target (same grid), foreground mask or None


def _normalized(pairs: Sequence[Pair], source_norm: dict, target_norm: dict):
    """Per pair: normalized source and target foreground voxels, and the fitted target normalization."""
    for source, target, mask in pairs:
        if source.array.shape != target.array.shape:
            raise ConfigError("training pairs must be on one grid; resample or run `medsynth prepare` first")
        m = foreground_mask(source.array) if mask is None else mask.astype(bool)
        s = intensity.apply(intensity.fit(source_norm, source.array, m), source.array)[m]
        fitted_t = intensity.fit(target_norm, target.array, m)
        t = intensity.apply(fitted_t, target.array)[m]
        background = float(np.median(target.array[~m])) if (~m).any() else float(target.array.min())
        yield s, t, fitted_t, background


def typical_target_intensity(fitted: list[dict[str, Any]], backgrounds: list[float]) -> dict[str, Any]:
    """The target normalization with the median of its per-subject parameters: a typical scale."""
    params = {k: float(np.median([f["params"][k] for f in fitted])) for k in fitted[0]["params"]}
    return {**fitted[0], "params": params, "background": float(np.median(backgrounds))}


def fit_baseline(
    kind: str,
    pairs: Sequence[Pair],
    source_contrast: str,
    target_contrast: str,
    name: str | None = None,
    bins: int = 256,
    training_summary: dict[str, Any] | None = None,
    normalizations: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> tuple[torch.nn.Module, ModelCard]:
    """Fit baseline ``kind`` on co-registered ``pairs``; returns the model and its card."""
    if kind not in BASELINES:
        raise ConfigError(f"unknown baseline '{kind}'; expected one of {', '.join(BASELINES)}")
    if not pairs:
        raise ConfigError("fitting a baseline needs at least one training pair")
    src, tgt = canonical_contrast(source_contrast), canonical_contrast(target_contrast)
    source_norm, target_norm = normalizations or (intensity.default_normalization(src),
                                                  intensity.default_normalization(tgt))
    data = list(_normalized(pairs, source_norm, target_norm))
    hyper: dict[str, Any] = {}
    if kind == "histogram_matching":
        hyper = {"levels": bins}
    elif kind == "joint_histogram":
        hyper = {"bins": bins}
    model = build_model(kind, **hyper)
    if kind == "histogram_matching":
        q = np.linspace(0.0, 1.0, bins)
        model.target_quantiles.copy_(torch.from_numpy(np.mean([np.quantile(t, q) for _, t, _, _ in data], axis=0)))
    elif kind == "joint_histogram":
        s_all = np.concatenate([s for s, _, _, _ in data])
        t_all = np.concatenate([t for _, t, _, _ in data])
        lo, hi = np.percentile(s_all, [0.01, 99.99])
        centers = np.linspace(lo, hi, bins)
        index = np.clip(np.rint((s_all - lo) / (hi - lo) * (bins - 1)).astype(np.int64), 0, bins - 1)
        counts = np.bincount(index, minlength=bins)
        sums = np.bincount(index, weights=t_all, minlength=bins)
        filled = counts > 0
        mean = np.interp(centers, centers[filled], sums[filled] / counts[filled])
        model.bin_centers.copy_(torch.from_numpy(centers))
        model.conditional_mean.copy_(torch.from_numpy(mean))
    target_intensity = typical_target_intensity([f for _, _, f, _ in data], [b for _, _, _, b in data])
    descriptions = {
        "identity": "Source image rescaled to the target contrast's typical range (no learning).",
        "histogram_matching": "Input quantiles mapped to the target contrast's mean training quantiles.",
        "joint_histogram": "Conditional mean E[target | source intensity] from co-registered training pairs.",
    }
    card = ModelCard(
        name=name or f"{kind}-{src}-{tgt}",
        architecture=kind,
        hyperparameters=hyper,
        engine="voxelwise",
        source_contrast=src,
        target_contrast=tgt,
        source_normalization=source_norm,
        target_intensity=target_intensity,
        training={"subjects": len(pairs), **(training_summary or {})},
        description=f"Baseline: {descriptions[kind]}",
    )
    return model, card


def fit_joint_histogram_2d(
    pairs: Sequence[tuple[Sequence[Volume], Volume]],
    inputs: Sequence[str],
    target_contrast: str,
    normalization: dict[str, Any] | None = None,
    bins: int = 64,
    name: str | None = None,
) -> tuple[torch.nn.Module, ModelCard]:
    """The two-input joint histogram E[target | input 1, input 2] fitted on co-registered
    ``[(inputs, target), ...]``; empty cells take E[target | input 1] (the one-input map)."""
    inputs = [canonical_contrast(c) for c in inputs]
    if len(inputs) != 2:
        raise ConfigError(f"the 2D joint histogram takes two inputs, got {len(inputs)} ({', '.join(inputs)})")
    tgt = canonical_contrast(target_contrast)
    norm = normalization or intensity.default_normalization(inputs[0])
    columns, targets, fitted, backgrounds = [], [], [], []
    for volumes, target in pairs:
        if any(v.array.shape != target.array.shape for v in volumes):
            raise ConfigError("training inputs and target must be on one grid; run `medsynth prepare` first")
        m = foreground_mask(volumes[0].array)
        columns.append(np.stack([intensity.apply(intensity.fit(norm, v.array, m), v.array)[m] for v in volumes], 1))
        fitted_t = intensity.fit(norm, target.array, m)
        targets.append(intensity.apply(fitted_t, target.array)[m])
        fitted.append(fitted_t)
        backgrounds.append(float(np.median(target.array[~m])) if (~m).any() else float(target.array.min()))
    x, t = np.concatenate(columns), np.concatenate(targets)
    lo, hi = np.percentile(x, 0.01, axis=0), np.percentile(x, 99.99, axis=0)
    index = np.clip(np.rint((x - lo) / (hi - lo) * (bins - 1)).astype(np.int64), 0, bins - 1)
    flat = index[:, 0] * bins + index[:, 1]
    counts = np.bincount(flat, minlength=bins * bins).reshape(bins, bins)
    sums = np.bincount(flat, weights=t, minlength=bins * bins).reshape(bins, bins)
    rows, row_sums = counts.sum(axis=1), sums.sum(axis=1)
    filled = rows > 0
    centres = np.arange(bins)
    marginal = np.interp(centres, centres[filled], row_sums[filled] / rows[filled])  # E[t | input 1]
    table = np.where(counts > 0, sums / np.maximum(counts, 1), marginal[:, None])
    model = build_model("joint_histogram_2d", bins=bins)
    model.lo.copy_(torch.from_numpy(lo))
    model.hi.copy_(torch.from_numpy(hi))
    model.table.copy_(torch.from_numpy(table))
    card = ModelCard(
        name=name or f"jointhist2d-{'+'.join(inputs)}-{tgt}", architecture="joint_histogram_2d",
        hyperparameters={"bins": bins}, engine="voxelwise", source_contrast=inputs[0], target_contrast=tgt,
        input_contrasts=inputs, source_normalization=norm,
        target_intensity=typical_target_intensity(fitted, backgrounds), training={"subjects": len(pairs)},
        description="Baseline: conditional mean E[target | both inputs' intensities] from co-registered training "
                    "tuples (2D bins), the voxel-wise ceiling a many-to-one model must beat.",
    )
    return model, card
