"""Reading and writing volumes (NIfTI, NRRD, MetaImage) with exact grids, checks and atomic writes."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from .errors import InputError, OutputError
from .file_checks import check_declared_size, check_nifti_header, data_file, regular_file
from .volume import Volume, from_sitk, to_sitk

log = logging.getLogger(__name__)

#: File endings SimpleITK reads and writes for us, longest first so ``.nii.gz`` wins over ``.gz``.
VOLUME_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def volume_extension(path: str | os.PathLike) -> str | None:
    """The supported extension ``path`` ends with, or ``None``."""
    name = str(path).lower()
    return next((ext for ext in VOLUME_EXTENSIONS if name.endswith(ext)), None)


def volume_stem(path: str | os.PathLike) -> str:
    """``path`` without its volume extension (``a/b-T1.nii.gz`` -> ``a/b-T1``); unchanged if it has none."""
    ext = volume_extension(path) or ""
    return str(path)[: len(str(path)) - len(ext)]


def _require_extension(path: Path, error: type[Exception]) -> None:
    if volume_extension(path) is None:
        raise error(f"{path}: unsupported file format; expected one of {', '.join(VOLUME_EXTENSIONS)}")


def read_volume(path: str | os.PathLike, dtype: np.dtype | type | None = np.float32) -> Volume:
    """Read a 3D scalar volume and check it is usable (finite, not constant).

    Raises :class:`InputError` naming the file and the problem for anything unusable, before any
    computation starts.
    """
    path = regular_file(path, "volume file")
    _require_extension(path, InputError)
    data_file(path)  # a separate data file must be a regular file next to the header
    check_nifti_header(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
        _check_layout(path, reader.GetDimension(), reader.GetSize(), reader.GetNumberOfComponents())
        check_declared_size(path, reader.GetSize(), _bytes_per_voxel(reader.GetPixelID()))
        image = reader.Execute()
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown reader error"
        raise InputError(f"{path}: cannot read the file (corrupt or not a volume): {detail}") from None
    if image.GetDimension() == 4:  # a 4D file with one time point: keep its 3D volume
        image = image[:, :, :, 0]
    volume = from_sitk(image)
    if dtype is not None:
        _check_fits(path, volume.array, np.dtype(dtype))
        volume.array = volume.array.astype(dtype, copy=False)
    _check_nifti_finite(path, image)
    check_volume(volume, str(path))
    return volume


def _bytes_per_voxel(pixel_id: int) -> int:
    return sitk.Image(1, 1, 1, pixel_id).GetSizeOfPixelComponent() if pixel_id >= 0 else 1


def _check_fits(path: Path, array: np.ndarray, dtype: np.dtype) -> None:
    """Finite float64 values beyond float32's range would turn into infinities: say so, not "NaN"."""
    if array.dtype.itemsize <= dtype.itemsize or not np.issubdtype(dtype, np.floating):
        return
    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    largest = float(np.abs(finite).max()) if finite.size else 0.0
    if largest > float(np.finfo(dtype).max):
        raise InputError(f"{path}: holds values up to {largest:.3g}, beyond the {dtype} range MedSynth computes in "
                         f"(+-{float(np.finfo(dtype).max):.3g}); rescale the image's intensities first")


def _check_nifti_finite(path: Path, image: sitk.Image) -> None:
    """ITK's NIfTI reader silently turns NaN voxels into 0; look at the stored values instead."""
    if not str(path).lower().endswith((".nii", ".nii.gz")) or image.GetPixelID() not in (
        sitk.sitkFloat32, sitk.sitkFloat64
    ):
        return
    stored = np.asanyarray(nib.load(str(path)).dataobj)
    bad = int(stored.size - np.count_nonzero(np.isfinite(stored)))
    if bad:
        raise InputError(f"{path}: contains {bad} NaN or infinite voxels; expected finite intensities")


def _check_layout(path: Path, dimension: int, size: tuple[int, ...], components: int) -> None:
    if components != 1:
        raise InputError(
            f"{path}: has {components} components per voxel (vector or RGB image); "
            "expected a scalar volume with one value per voxel"
        )
    if dimension == 4 and size[3] != 1:
        raise InputError(
            f"{path}: is 4D ({'x'.join(map(str, size))}, e.g. a time series or DWI); "
            "expected a single 3D volume: extract one volume first"
        )
    if dimension < 3 or dimension > 4 or min(size[:3]) < 2:
        raise InputError(
            f"{path}: is a {dimension}D image of size {'x'.join(map(str, size))}; "
            "expected a 3D volume with at least 2 voxels along each axis"
        )


def check_volume(volume: Volume, name: str = "volume") -> None:
    """Raise :class:`InputError` for NaN/Inf voxels or a constant (e.g. empty) volume."""
    array = volume.array
    if array.ndim != 3:
        raise InputError(f"{name}: has {array.ndim} dimensions; expected a 3D volume")
    if np.issubdtype(array.dtype, np.floating):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise InputError(f"{name}: contains {bad} NaN or infinite voxels; expected finite intensities")
    lo, hi = float(array.min()), float(array.max())
    if lo == hi:
        raise InputError(
            f"{name}: every voxel has the value {lo:g} (empty or constant volume); expected an image"
        )


def check_output_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Fail early, before any long work, if ``path`` cannot be written as a volume."""
    path = Path(path)
    _require_extension(path, OutputError)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a file name such as out.nii.gz")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists; pass --overwrite (overwrite=True) to replace it")
    check_writable_dir(path.parent if str(path.parent) else Path("."))
    return path


def check_writable_dir(folder: Path) -> None:
    """Raise :class:`OutputError` unless files can be created in ``folder`` (which must exist)."""
    if not folder.is_dir():
        raise OutputError(f"{folder}: output folder does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".medsynth-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write here ({exc.strerror}); choose a writable folder") from None


@contextlib.contextmanager
def atomic_output(path: Path):
    """Yield a temporary path with the same name in the same folder; move it into place on success.

    Formats with separate data files (``.mhd`` + ``.raw``, ``.nhdr`` + ``.raw.gz``) are written into a
    private temporary folder, so every file lands together (data first, header last) or none does.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp_dir = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}.tmp-"))
    try:
        yield tmp_dir / path.name
        produced = sorted(tmp_dir.iterdir(), key=lambda p: p.name == path.name)  # header last
        mode = 0o666 & ~_umask()  # files in the private folder may have been created 0600
        for item in produced:
            os.chmod(item, mode)
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_volume(
    volume: Volume,
    path: str | os.PathLike,
    overwrite: bool = False,
    dtype: np.dtype | type | None = None,
) -> Path:
    """Write ``volume`` atomically, keeping its grid exactly; the format follows the extension."""
    path = check_output_path(path, overwrite)
    array = volume.array if dtype is None else volume.array.astype(dtype, copy=False)
    image = to_sitk(volume, array)
    with atomic_output(path) as tmp:
        try:
            sitk.WriteImage(image, str(tmp), useCompression=True)
        except RuntimeError as exc:
            raise OutputError(f"{path}: writing failed: {str(exc).strip().splitlines()[-1]}") from None
    log.debug("wrote %s", path)
    return path
