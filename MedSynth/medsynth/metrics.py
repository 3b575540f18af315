"""Image-quality metrics between a synthetic and a reference volume.

Conventions (written down because papers differ):

- ``data_range`` for PSNR and SSIM is ``max - min`` of the *whole reference volume*, for the masked and
  the whole-image values alike, unless given explicitly (e.g. 2.0 for images normalized to [-1, 1] as
  in seed 000). PSNR = 10 log10(data_range^2 / MSE).
- "mask" values use voxels inside the foreground mask only; "whole" values use every voxel.
- SSIM is MONAI's Gaussian-window SSIM (11 voxels, sigma 1.5, k1 0.01, k2 0.03, valid window),
  computed with separable filtering. ``ssim_3d`` is
  computed on the volume; ``ssim_axial`` / ``_sagittal`` / ``_coronal`` are the mean of 2D SSIM over the
  slices of that plane that contain mask voxels. Masked SSIM averages the SSIM map inside the mask.
- NMSE = sum((s - r)^2) / sum(r^2) over the region.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .core.contrasts import CONTRASTS
from .mask import foreground_mask
from .volume import PLANES, Volume

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
METRIC_NAMES = ("psnr", "ssim_3d", "ssim_axial", "ssim_sagittal", "ssim_coronal", "mae", "mse", "nmse")


def psnr(mse: float, data_range: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def _gaussian_1d() -> np.ndarray:
    """MONAI's SSIM window profile (``monai.metrics.regression._gaussian_kernel`` is its outer product)."""
    dist = np.arange((1 - SSIM_WINDOW) / 2, (1 + SSIM_WINDOW) / 2, 1.0)
    g = np.exp(-((dist / SSIM_SIGMA) ** 2) / 2)
    return (g / g.sum()).astype(np.float32)


def _blur_valid(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Gaussian filtering along ``axes``, one 1D pass each (separable), cropped to the valid window."""
    g = _gaussian_1d()
    for axis in axes:
        x = ndimage.correlate1d(x, g, axis=axis, mode="nearest")
    return _valid(x, axes)


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float, dims: int | None = None) -> np.ndarray:
    """SSIM map of two arrays, valid window (smaller by ``SSIM_WINDOW - 1`` along each filtered axis).

    Same formula and window as MONAI's ``compute_ssim_and_cs`` (the tests check they agree), with
    separable filtering: 3 x 11 taps per voxel instead of 11^3, so 3D SSIM of a 256x256x150 volume
    takes a second instead of a minute. ``dims=2`` on a 3D array gives the 2D maps of its slices along
    axis 0.
    """
    dims = a.ndim if dims is None else dims
    axes = tuple(range(a.ndim - dims, a.ndim))
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _blur_valid(x, axes), _blur_valid(y, axes)
    sigma_x = _blur_valid(x * x, axes) - mu_x * mu_x
    sigma_y = _blur_valid(y * y, axes) - mu_y * mu_y
    sigma_xy = _blur_valid(x * y, axes) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)) * (2 * sigma_xy + c2) / (sigma_x + sigma_y + c2)


def _valid(mask: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Crop ``mask`` along ``axes`` the way a valid-mode SSIM window crops the image."""
    h = SSIM_WINDOW // 2
    index = tuple(slice(h, n - h) if ax in axes else slice(None) for ax, n in enumerate(mask.shape))
    return mask[index]


def ssim_3d(a: np.ndarray, b: np.ndarray, data_range: float, mask: np.ndarray) -> tuple[float, float]:
    """3D SSIM (inside ``mask``, whole volume)."""
    if min(a.shape) < SSIM_WINDOW:
        return math.nan, math.nan
    smap = ssim_map(a, b, data_range)
    vm = _valid(mask, (0, 1, 2))
    return (float(smap[vm].mean()) if vm.any() else math.nan), float(smap.mean())


def ssim_slices(
    a: np.ndarray, b: np.ndarray, axis: int, data_range: float, mask: np.ndarray, chunk: int = 64
) -> tuple[float, float]:
    """Mean 2D SSIM over the slices along ``axis`` that hold mask voxels: (inside the mask, whole slice)."""
    a, b, m = (np.moveaxis(x, axis, 0) for x in (a, b, mask))
    if min(a.shape[1:]) < SSIM_WINDOW:
        return math.nan, math.nan
    keep = np.flatnonzero(m.reshape(m.shape[0], -1).any(axis=1))
    inside, whole = [], []
    for start in range(0, keep.size, chunk):
        idx = keep[start : start + chunk]
        maps = ssim_map(a[idx], b[idx], data_range, dims=2)
        for smap, sm in zip(maps, _valid(m[idx], (1, 2)), strict=True):
            whole.append(float(smap.mean()))
            if sm.any():
                inside.append(float(smap[sm].mean()))
    mean = lambda v: float(np.mean(v)) if v else math.nan  # noqa: E731
    return mean(inside), mean(whole)


def compare(
    synthetic: Volume,
    reference: Volume,
    mask: np.ndarray | None = None,
    data_range: float | None = None,
    planes: bool = True,
) -> dict[str, dict[str, float]]:
    """All metrics for ``{"mask": ..., "whole": ...}``; arrays must share a grid (see resample_to).

    Without ``mask`` the foreground of the reference is used (and slices are chosen from it).
    """
    s = synthetic.array.astype(np.float64)
    r = reference.array.astype(np.float64)
    if s.shape != r.shape:
        raise ValueError(f"synthetic {s.shape} and reference {r.shape} are on different grids")
    m = foreground_mask(reference.array) if mask is None else mask.astype(bool)
    rng = float(r.max() - r.min()) if data_range is None else float(data_range)
    ssim = {"ssim_3d": ssim_3d(s, r, rng, m)}
    for plane in PLANES:
        ssim[f"ssim_{plane}"] = ssim_slices(s, r, synthetic.slice_axis(plane), rng, m) if planes else (math.nan,) * 2
    out: dict[str, dict[str, float]] = {}
    for index, (region, region_mask) in enumerate((("mask", m), ("whole", None))):
        diff = s - r if region_mask is None else (s - r)[region_mask]
        ref = r if region_mask is None else r[region_mask]
        mse = float(np.mean(diff**2)) if diff.size else math.nan
        res = {
            "psnr": psnr(mse, rng),
            "mae": float(np.mean(np.abs(diff))) if diff.size else math.nan,
            "mse": mse,
            "nmse": float(np.sum(diff**2) / max(np.sum(ref**2), 1e-12)),
            **{k: v[index] for k, v in ssim.items()},
        }
        out[region] = {k: res[k] for k in METRIC_NAMES}
    out["info"] = {"data_range": rng, "mask_voxels": float(m.sum())}
    return out


BONE_HU = CONTRASTS["CT"].bone_hu  # the usual bone threshold of synthetic-CT studies


def bone_dice(synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray, threshold: float = BONE_HU) -> float:
    """Dice overlap of bone (HU above ``threshold``) in a synthetic and a real CT inside ``mask``; NaN when
    neither holds bone there. Intensity-mapping baselines cannot place bone where MRI is dark in both bone
    and air, so this is where a model's spatial context shows."""
    a, b = (np.asarray(x)[mask] > threshold for x in (synthetic, reference))
    total = int(a.sum()) + int(b.sum())
    return 2.0 * float(np.logical_and(a, b).sum()) / total if total else math.nan


SHARPNESS_EROSION = 2  # voxels: the brain's own edge against the background is not detail


def relative_sharpness(synthetic: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """How much detail the synthetic image keeps: its mean gradient magnitude inside ``mask`` (eroded, so the
    edge of the head does not count) over the real image's, each on its own robust scale (1st-99th percentile
    inside the mask), so the figure does not depend on either intensity scale. 1 = as sharp as the real image;
    a blurred image scores below 1, a noisy one can score above."""
    from .core.conventions import own_scale

    inner = ndimage.binary_erosion(mask, iterations=SHARPNESS_EROSION)
    inner = inner if inner.any() else np.asarray(mask, dtype=bool)

    def mean_gradient(array: np.ndarray) -> float:
        scaled = own_scale(array, mask)
        return float(np.mean(np.sqrt(sum(g[inner] ** 2 for g in np.gradient(scaled)))))

    real = mean_gradient(reference)
    return mean_gradient(synthetic) / real if real > 0 else math.nan


def summarize(rows: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Mean and (sample) standard deviation of each metric over subjects, ignoring NaNs."""
    keys = rows[0].keys() if rows else []
    out = {}
    for k in keys:
        v = np.array([row[k] for row in rows], dtype=np.float64)
        v = v[np.isfinite(v)]
        out[k] = (float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0) if v.size else (math.nan, math.nan)
    return out
