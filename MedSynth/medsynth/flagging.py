"""How well an uncertainty map flags error: rank correlation and sparsification against the oracle.

Sparsification (Ilg et al., ECCV 2018): remove the voxels the map calls most uncertain, a growing fraction at a
time, and follow the mean error of the voxels left; the oracle removes the largest errors first. The area
between the two curves, relative to that between a random order (a flat curve) and the oracle, is 0 for a map
that ranks errors perfectly and 1 for one no better than chance.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from .core.conventions import robust_range

FRACTIONS = (0.05, 0.10, 0.20)  # the removed fractions a report lists
CURVE = np.linspace(0.0, 0.5, 51)  # the removed fractions the area is taken over
SAMPLE = 200_000  # voxels: Spearman on a random sample of this size (exact rank ties make the full one slow)


def flagging(uncertainty: np.ndarray, error: np.ndarray, seed: int = 0) -> dict[str, float]:
    """``spearman``, the mean error left after removing each of :data:`FRACTIONS` (``left_5`` ...) by the map and
    by the oracle (``oracle_5`` ...), and ``area_ratio``; ``uncertainty`` and ``error`` are the voxels to judge
    (e.g. inside the brain), flattened alike."""
    u, e = np.ravel(uncertainty).astype(np.float64), np.ravel(error).astype(np.float64)
    if u.shape != e.shape or u.size < 10:
        raise ValueError(f"need one uncertainty per error value and 10 or more voxels, got {u.size} and {e.size}")
    pick = np.random.default_rng(seed).permutation(u.size)[:SAMPLE]
    out = {"spearman": float(spearmanr(u[pick], e[pick]).statistic)}
    by_map, by_error = _left(e[np.argsort(-u, kind="stable")]), _left(np.sort(e)[::-1])
    for fraction in FRACTIONS:
        tag = round(fraction * 100)
        out[f"left_{tag}"], out[f"oracle_{tag}"] = float(by_map(fraction)), float(by_error(fraction))
    model, oracle = (np.array([f(x) for x in CURVE]) for f in (by_map, by_error))
    chance = np.full_like(CURVE, e.mean())
    out["area_ratio"] = float(np.trapezoid(model - oracle, CURVE) / max(np.trapezoid(chance - oracle, CURVE), 1e-12))
    return out


def _left(ordered: np.ndarray):
    """Mean of ``ordered`` after dropping its first ``fraction``: a function of the fraction."""
    tail = np.cumsum(ordered[::-1])[::-1]  # tail[k] = sum of ordered[k:]

    def mean_left(fraction: float) -> float:
        k = min(round(fraction * ordered.size), ordered.size - 1)
        return tail[k] / (ordered.size - k)

    return mean_left


ERROR_QUANTILE = 0.9  # the error threshold: this quantile of the error on unseen subjects


def calibration(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The card's uncertainty calibration from unseen subjects' ``[(uncertainty, error), ...]`` (each on the
    synthetic image's own scale: divided by its robust range inside the head): ``scale``, the least-squares
    factor from uncertainty to absolute error, and ``threshold``, the error that :data:`ERROR_QUANTILE` of
    their voxels stay under."""
    u = np.concatenate([np.ravel(a) for a, _ in pairs]).astype(np.float64)
    e = np.concatenate([np.ravel(b) for _, b in pairs]).astype(np.float64)
    scale = float(np.dot(u, e) / max(np.dot(u, u), 1e-12))
    return {"scale": round(scale, 5), "threshold": round(float(np.quantile(e, ERROR_QUANTILE)), 5)}


def above_threshold(uncertainty: np.ndarray, calibrated: dict[str, float]) -> float:
    """The share of voxels (``uncertainty`` on the image's own scale) whose expected error, ``scale`` times the
    uncertainty, is above the calibrated error ``threshold``."""
    return float(np.mean(calibrated["scale"] * np.asarray(uncertainty) > calibrated["threshold"]))


def uncertain_share(image: np.ndarray, uncertainty: np.ndarray, mask: np.ndarray, card, method: str) -> float | None:
    """The share of ``mask`` (the head) where the expected error of ``image`` is above its model's calibrated
    error threshold (``card.inference["uncertainty_calibration"]``, measured for ``method``); None without one."""
    calibrated = card.uncertainty_calibration(method)
    if not calibrated or not mask.any():
        return None
    lo, hi = robust_range(image, mask)
    return above_threshold(uncertainty[mask] / max(hi - lo, 1e-12), calibrated)


def share_line(share: float) -> str:
    """The one-line summary shown next to the metrics."""
    return (f"{share:.1%} of the head is above the model's calibrated error threshold (the error 90% of voxels "
            "stayed under on unseen subjects)")
