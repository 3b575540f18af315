"""The error a synthetic image is expected to have at each voxel, predicted from what inference already has.

On unseen real subjects the synthesis error follows the tissue more than the network's own doubt: it is large
where the input is dark and the output bright (CSF in T1 -> T2), and where the output changes quickly (edges,
where a voxel of misregistration or blur costs most). So the expected error is a regression on those
features, fitted on the errors of subjects the model never saw (``scripts/study_uncertainty.py``, leave one
subject out) and stored in the card: per voxel inside the head, each input's and the output's intensity (each
on its own scale: its robust range inside the head) and the output's local standard deviation (Gaussian,
``SIGMA_MM``), each with its square, predicting log(error + ``EPS``). Unlike a test-time ensemble it costs no
extra pass through the network; docs/results.md measures it against them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .core.conventions import own_scale, robust_range
from .core.errors import ModelError
from .mask import GAUSSIAN_TRUNCATE, gaussian_box

SIGMA_MM = 1.0  # the output's local standard deviation: Gaussian neighbourhood
EPS = 1e-3  # on the own scale (1 = the image's robust range): the error the log regression is floored at


def features(inputs: Sequence[np.ndarray], output: np.ndarray, mask: np.ndarray,
             spacing: Sequence[float]) -> np.ndarray:
    """``[voxel, feature]`` for the voxels of ``mask``: each input's and the output's intensity on its own scale,
    then the output's local standard deviation; ``spacing`` is the volume's (i, j, k) voxel size in mm."""
    box = gaussian_box(mask, SIGMA_MM, spacing)
    inner = mask[box]
    columns = [own_scale(array[box], inner).astype(np.float32) for array in inputs]
    out = own_scale(output[box], inner).astype(np.float32)
    columns.append(out)
    sigma = SIGMA_MM / np.asarray(spacing, dtype=float)[::-1]  # array axes are [k, j, i]
    mean = ndimage.gaussian_filter(out, sigma, truncate=GAUSSIAN_TRUNCATE)
    square = ndimage.gaussian_filter(out * out, sigma, truncate=GAUSSIAN_TRUNCATE)
    columns.append(np.sqrt(np.maximum(square - mean * mean, 0.0)))
    return np.stack([c[inner] for c in columns], axis=1).astype(np.float32)


def fit(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """The coefficients from unseen subjects' ``[(features, error), ...]`` (the error on the synthetic image's own
    scale, one per feature row): least squares on log(error + ``EPS``)."""
    x = np.concatenate([_design(f) for f, _ in pairs])
    y = np.log(np.concatenate([np.ravel(e) for _, e in pairs]).astype(np.float64) + EPS)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    return [round(float(c), 6) for c in coefficients]


def predict(coefficients: Sequence[float], found: np.ndarray) -> np.ndarray:
    """The expected error (own scale) of each row of :func:`features`."""
    x = _design(found)
    if x.shape[1] != len(coefficients):
        raise ModelError(f"the card's error model has {len(coefficients)} coefficients; a model with "
                         f"{found.shape[1] - 2} input(s) needs {x.shape[1]}")
    return np.maximum(np.exp(x @ np.asarray(coefficients, dtype=np.float64)) - EPS, 0.0).astype(np.float32)


def error_map(coefficients: Sequence[float], inputs: Sequence[np.ndarray], output: np.ndarray, mask: np.ndarray,
              spacing: Sequence[float]) -> np.ndarray:
    """The expected error of ``output`` in its own units (0 outside ``mask``), a volume like it."""
    found = np.zeros(output.shape, dtype=np.float32)
    if mask.any():
        lo, hi = robust_range(output, mask)
        found[mask] = predict(coefficients, features(inputs, output, mask, spacing)) * max(hi - lo, 1e-12)
    return found


def _design(found: np.ndarray) -> np.ndarray:
    f = np.asarray(found, dtype=np.float64)
    return np.concatenate([np.ones((len(f), 1)), f, f * f], axis=1)

