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


def resample_to_spacing(volume: Volume, spacing: tuple[float, float, float], interpolation: str = "linear",
                        default_value: float = 0.0) -> Volume:
    """``volume`` on a grid of the same orientation and extent with voxel sides ``spacing`` (mm, along i, j, k
    as ``Volume.spacing``); the volume itself when its spacing already is that."""
    old = volume.spacing
    new = np.asarray(spacing, dtype=np.float64)
    if np.allclose(old, new, rtol=1e-3):
        return volume
    shape = np.maximum(np.round(np.asarray(volume.array.shape) * (old / new)[::-1]), 1).astype(int)  # [k, j, i]
    matrix = volume.ijk_to_ras.copy()
    direction = matrix[:3, :3] / old[None, :]
    matrix[:3, :3] = direction * new[None, :]
    # the first voxel centre moves so that both grids cover the same box: edge = centre - half a voxel
    matrix[:3, 3] = volume.ijk_to_ras[:3, 3] + direction @ ((new - old) / 2)
    reference = Volume(np.zeros(tuple(shape), dtype=np.float32), matrix)
    return resample_to(volume, reference, interpolation, default_value)


def in_plane_spacing(volume: Volume, plane: str | None, spacing: float) -> tuple[float, float, float]:
    """Voxel sides (i, j, k) with ``spacing`` in ``plane`` and the volume's own across it (every axis when
    ``plane`` is None)."""
    voxel = [spacing] * 3
    if plane is not None:
        across = 2 - volume.slice_axis(plane)  # the index axis of the array axis the slices step along
        voxel[across] = float(volume.spacing[across])
    return tuple(voxel)
