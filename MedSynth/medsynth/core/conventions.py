"""Intensity conventions for comparing a synthetic volume with a real one, applied to both sides alike.

A model writes its target contrast in its training data's range; a real acquisition is in its scanner's
units. Subtracting one from the other measures the scale difference, not the synthesis. So metrics and
difference maps are computed in one of these conventions, never with one side normalized and not the other:

- ``raw``: both as they are (right when both are on one scale, as a phantom and its model's output);
- ``own-scale``: each image mapped by its own robust range inside the mask, the ``LOW``-th percentile to 0
  and the ``HIGH``-th to 1;
- ``calibrated``: the synthetic image mapped onto the reference by the least-squares affine intensity fit
  inside the mask, with a non-negative slope (a window/level change: it cannot turn a T1 contrast into a
  T2 one by inverting it), the reference left in its units;
- ``auto``: ``raw`` when the two robust ranges agree within a factor ``SCALE_TOLERANCE``, else ``own-scale``.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

CONVENTIONS = ("auto", "raw", "own-scale", "calibrated")
LOW, HIGH = 1.0, 99.0
SCALE_TOLERANCE = 1.5


def robust_range(array: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """The ``LOW``-th and ``HIGH``-th percentiles of ``array`` inside ``mask``."""
    values = array[mask] if mask.any() else array.ravel()
    lo, hi = (float(v) for v in np.percentile(values, [LOW, HIGH]))
    return lo, hi


def own_scale(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lo, hi = robust_range(array, mask)
    return (array.astype(np.float64) - lo) / max(hi - lo, 1e-12)


def calibrate(synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``a * synthetic + b`` with ``a >= 0, b`` the least-squares fit of the reference inside ``mask`` (where
    the unconstrained fit's slope is negative, the best non-negative one is 0: the reference's mean)."""
    s, r = synthetic[mask].astype(np.float64), reference[mask].astype(np.float64)
    design = np.stack([s, np.ones_like(s)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, r, rcond=None)
    if a < 0:
        a, b = 0.0, float(r.mean())
    return a * synthetic.astype(np.float64) + b


def scales_differ(synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the robust ranges of the two images differ by more than ``SCALE_TOLERANCE`` (either way)."""
    spans = [max(hi - lo, 1e-12) for lo, hi in (robust_range(synthetic, mask), robust_range(reference, mask))]
    return max(spans) / min(spans) > SCALE_TOLERANCE


def resolve(convention: str, synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> str:
    """The convention ``auto`` stands for with these images (any other is returned as it is)."""
    if convention not in CONVENTIONS:
        raise ConfigError(f"intensity convention must be one of {', '.join(CONVENTIONS)}, got '{convention}'")
    if convention != "auto":
        return convention
    return "own-scale" if scales_differ(synthetic, reference, mask) else "raw"


def common_space(synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray,
                 convention: str = "auto") -> tuple[np.ndarray, np.ndarray, str]:
    """Both images in ``convention`` (resolved), and its name: ``(synthetic, reference, convention)``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ConfigError("the comparison mask holds no voxel; intensities cannot be put on a common scale")
    chosen = resolve(convention, synthetic, reference, mask)
    if chosen == "own-scale":
        return own_scale(synthetic, mask), own_scale(reference, mask), chosen
    if chosen == "calibrated":
        return calibrate(synthetic, reference, mask), reference.astype(np.float64), chosen
    return synthetic.astype(np.float64), reference.astype(np.float64), chosen
