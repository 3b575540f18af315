"""A 3D scalar volume on a physical grid, and the one place where RAS and LPS meet.

Conventions, chosen to match 3D Slicer so the Slicer logic can pass arrays through untouched:

- ``array`` is indexed ``[k, j, i]`` (slowest to fastest), like ``slicer.util.arrayFromVolume`` and
  ``SimpleITK.GetArrayFromImage``.
- ``ijk_to_ras`` is the 4x4 matrix taking voxel indices ``(i, j, k, 1)`` to RAS millimetres, like a
  volume node's ``IJKToRASMatrix`` and a NIfTI affine.
- SimpleITK and ITK use LPS; :func:`to_sitk` and :func:`from_sitk` are the only conversions.
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel.orientations as nio
import numpy as np
import SimpleITK as sitk

from .core.errors import ConfigError
from .core.options import PLANE_NORMAL_AXIS, PLANES

_LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])


@dataclass
class Volume:
    """Voxel array ``[k, j, i]`` plus the 4x4 ``ijk_to_ras`` matrix of its grid."""

    array: np.ndarray
    ijk_to_ras: np.ndarray

    def __post_init__(self) -> None:
        self.ijk_to_ras = np.asarray(self.ijk_to_ras, dtype=np.float64)
        if self.ijk_to_ras.shape != (4, 4):
            raise ValueError(f"ijk_to_ras must be 4x4, got {self.ijk_to_ras.shape}")

    @classmethod
    def from_geometry(
        cls,
        array: np.ndarray,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
        direction: np.ndarray | None = None,
    ) -> Volume:
        """Build from spacing ``(i, j, k)``, RAS origin and RAS direction (columns = i, j, k axes)."""
        direction = np.eye(3) if direction is None else np.asarray(direction, dtype=np.float64)
        matrix = np.eye(4)
        matrix[:3, :3] = direction * np.asarray(spacing, dtype=np.float64)[None, :]
        matrix[:3, 3] = origin
        return cls(array, matrix)

    @property
    def shape_ijk(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.array.shape[::-1])  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size along i, j, k in mm."""
        return np.linalg.norm(self.ijk_to_ras[:3, :3], axis=0)

    @property
    def origin(self) -> np.ndarray:
        """RAS position of voxel (0, 0, 0) in mm."""
        return self.ijk_to_ras[:3, 3].copy()

    @property
    def direction(self) -> np.ndarray:
        """3x3 RAS direction cosines; column c is the direction of index axis c (i, j, k)."""
        return self.ijk_to_ras[:3, :3] / self.spacing[None, :]

    def with_array(self, array: np.ndarray) -> Volume:
        """The same grid with other voxel values (shape must match)."""
        if array.shape != self.array.shape:
            raise ValueError(f"array shape {array.shape} does not match grid {self.array.shape}")
        return Volume(array, self.ijk_to_ras.copy())

    def same_grid(self, other: Volume, tol: float = 1e-4) -> bool:
        """True if both volumes sample the same points (shape and matrix equal within ``tol`` mm)."""
        return self.array.shape == other.array.shape and np.allclose(
            self.ijk_to_ras, other.ijk_to_ras, atol=tol
        )

    def ras_axis_of_index_axes(self) -> tuple[tuple[int, int], ...]:
        """For index axes i, j, k: (RAS axis it runs along, +1/-1), a permutation even for oblique grids."""
        ornt = nio.io_orientation(self.ijk_to_ras)
        return tuple((int(axis), int(flip)) for axis, flip in ornt)

    def slice_axis(self, plane: str) -> int:
        """Numpy axis of ``array`` to step along to get ``plane`` slices (chosen from the direction matrix)."""
        if plane not in PLANE_NORMAL_AXIS:
            raise ConfigError(f"unknown plane '{plane}'; expected one of {', '.join(PLANES)}")
        wanted = PLANE_NORMAL_AXIS[plane]
        for index_axis, (ras_axis, _) in enumerate(self.ras_axis_of_index_axes()):
            if ras_axis == wanted:
                return 2 - index_axis  # array is [k, j, i]
        raise AssertionError("io_orientation always returns a permutation")

    def plane_of_array_axis(self, axis: int) -> str:
        """Inverse of :meth:`slice_axis`: the plane whose slices are obtained by stepping along ``axis``."""
        ras_axis = self.ras_axis_of_index_axes()[2 - axis][0]
        return next(p for p, a in PLANE_NORMAL_AXIS.items() if a == ras_axis)

    def to_closest_ras(self) -> tuple[np.ndarray, np.ndarray]:
        """Array reordered to ``[R, A, S]`` axes (increasing towards R, A, S) and the matching spacing.

        Only permutes and flips (no resampling): the view a person expects when looking at slices.
        """
        ornt = nio.io_orientation(self.ijk_to_ras)
        data_ijk = np.transpose(self.array, (2, 1, 0))
        reoriented = nio.apply_orientation(data_ijk, ornt)
        spacing = np.empty(3)
        for index_axis, (ras_axis, _) in enumerate(ornt):
            spacing[int(ras_axis)] = self.spacing[index_axis]
        return np.ascontiguousarray(reoriented), spacing


def to_sitk(volume: Volume, array: np.ndarray | None = None) -> sitk.Image:
    """SimpleITK image of ``volume`` (or of ``array`` on its grid), converting RAS to LPS."""
    image = sitk.GetImageFromArray(volume.array if array is None else array)
    image.SetSpacing(tuple(float(s) for s in volume.spacing))
    image.SetOrigin(tuple(float(v) for v in _LPS_FROM_RAS @ volume.origin))
    image.SetDirection(tuple(float(v) for v in (_LPS_FROM_RAS @ volume.direction).ravel()))
    return image


def from_sitk(image: sitk.Image) -> Volume:
    """Volume from a 3D scalar SimpleITK image, converting LPS to RAS."""
    direction_lps = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    return Volume.from_geometry(
        sitk.GetArrayFromImage(image),
        spacing=tuple(image.GetSpacing()),
        origin=tuple(_LPS_FROM_RAS @ np.asarray(image.GetOrigin())),
        direction=_LPS_FROM_RAS @ direction_lps,
    )
