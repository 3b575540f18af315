"""Resampling a volume onto another volume's grid (SimpleITK, in physical space)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .volume import Volume, from_sitk, to_sitk

_INTERPOLATORS = {
    "linear": sitk.sitkLinear,
    "nearest": sitk.sitkNearestNeighbor,
    "bspline": sitk.sitkBSpline,
}


def resample_to(
    volume: Volume,
    reference: Volume,
    interpolation: str = "linear",
    default_value: float = 0.0,
    transform: sitk.Transform | None = None,
) -> Volume:
    """``volume`` sampled at ``reference``'s voxel centres (points outside get ``default_value``).

    ``transform`` maps reference (fixed) points to ``volume`` (moving) points in LPS, as SimpleITK's
    registration returns it.
    """
    if interpolation not in _INTERPOLATORS:
        raise ValueError(f"interpolation must be one of {', '.join(_INTERPOLATORS)}")
    if transform is None and volume.same_grid(reference):
        return volume.with_array(volume.array.copy())
    array = volume.array
    if array.dtype not in (np.float32, np.float64) and interpolation != "nearest":
        array = array.astype(np.float32)
    resampled = sitk.Resample(
        to_sitk(volume, array),
        to_sitk(reference),
        transform if transform is not None else sitk.Transform(),
        _INTERPOLATORS[interpolation],
        float(default_value),
    )
    out = from_sitk(resampled)
    out.ijk_to_ras = reference.ijk_to_ras.copy()  # exact, not round-tripped through LPS floats
    return out
