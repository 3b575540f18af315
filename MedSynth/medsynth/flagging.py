"""How well an uncertainty map flags error: rank correlation and sparsification against the oracle.

Sparsification (Ilg et al., ECCV 2018): remove the voxels the map calls most uncertain, a growing fraction at a
time, and follow the mean error of the voxels left; the oracle removes the largest errors first. The area
between the two curves, relative to that between a random order (a flat curve) and the oracle, is 0 for a map
that ranks errors perfectly and 1 for one no better than chance.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

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
