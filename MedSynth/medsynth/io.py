"""Reading and writing volumes (NIfTI, NRRD, MetaImage) with exact grids, checks and atomic writes."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from .core.errors import InputError, OutputError
from .core.files import VOLUME_EXTENSIONS, output_set, regular_file, volume_extension
from .file_checks import check_declared_size, check_nifti_header, data_file
from .volume import Volume, from_sitk, to_sitk

log = logging.getLogger(__name__)


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


#: data files SimpleITK writes next to a header: ``x.mhd`` + ``x.zraw`` (or ``.raw``), ``x.nhdr`` + ``x.raw.gz``
COMPANIONS = {".mhd": (".zraw", ".raw"), ".nhdr": (".raw.gz", ".raw")}


def companions(path: str | os.PathLike) -> list[Path]:
    """The data files that belong to the header ``path`` as an output (none for single-file formats)."""
    path = Path(path)
    extension = volume_extension(path) or path.suffix.lower()
    stem = str(path)[: len(str(path)) - len(extension)]
    return [Path(stem + suffix) for suffix in COMPANIONS.get(extension, ())]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _input_files(path: Path) -> list[Path]:
    """An input and what it consists of: a header's data file (named in it, or by SimpleITK's convention)."""
    files = [path, *companions(path)]
    with contextlib.suppress(InputError, OSError):
        named = data_file(path) if path.is_file() else None
        if named is not None:
            files.append(named)
    return files


def check_output_path(path: str | os.PathLike, overwrite: bool = False, inputs=(),
                      volume: bool = True) -> Path:
    """Fail early, before any long work, if ``path`` cannot be written (as a volume unless ``volume`` is
    False). An output that is, or whose data file is, one of the command's ``inputs`` (after following
    links) is refused whatever ``overwrite`` says: it would destroy what the command reads."""
    path = Path(path)
    if volume:
        _require_extension(path, OutputError)
    own = [path, *companions(path)] if volume else [path]
    for item in own:
        if item.is_dir():
            raise OutputError(f"{item}: is a folder; expected a file name such as "
                              f"{'out.nii.gz' if volume else 'out' + path.suffix}")
    for source in map(Path, inputs):
        for part in _input_files(source):
            for item in own:
                if item.exists() and part.exists() and _same_file(item, part):
                    raise OutputError(f"{path}: is the input {source} (or its data file); writing it would destroy "
                                      "the input, whatever --overwrite says: choose another output name")
    if not overwrite:
        for item in own:
            if item.exists() or item.is_symlink():
                what = "already exists" if item == path else f"would replace {item.name}, a data file already there"
                raise OutputError(f"{path}: {what}; pass --overwrite (overwrite=True) to replace it")
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


def write_volume(
    volume: Volume,
    path: str | os.PathLike,
    overwrite: bool = False,
    dtype: np.dtype | type | None = None,
    inputs=(),
) -> Path:
    """Write ``volume`` atomically, keeping its grid exactly; the format follows the extension (in any case).
    ``inputs``: the files the command read, which the output may not replace."""
    path = check_output_path(path, overwrite, inputs)
    with output_set([path], verify=verify_volume_file) as temporary:
        write_volume_to(volume, temporary[path], dtype)
    log.debug("wrote %s", path)
    return path


def write_volumes(volumes: dict, overwrite: bool = False, dtype: np.dtype | type | None = None,
                  inputs=()) -> list[Path]:
    """Write ``{path: volume}`` together: all of them, or (on any failure) none."""
    paths = [check_output_path(path, overwrite, inputs) for path in volumes]
    if len(set(paths)) < len(paths):
        raise OutputError(f"two outputs have one name ({', '.join(map(str, paths))}); give each its own file")
    with output_set(paths, verify=verify_volume_file) as temporary:
        for path, volume in zip(paths, volumes.values(), strict=True):
            write_volume_to(volume, temporary[path], dtype)
    return paths


def stored_as(array: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``array`` in ``dtype``; for an integer type rounded and held to its range (a plain cast wraps: 40000 in
    int16 becomes -25536, a negative voxel in a magnitude image), saying how many voxels were held."""
    fits = np.issubdtype(array.dtype, np.integer) and np.can_cast(array.dtype, dtype)
    if not np.issubdtype(dtype, np.integer) or fits:
        return array.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    outside = int(np.count_nonzero((array < info.min) | (array > info.max)))
    if outside:
        log.warning("%s: %d voxel(s) beyond the %s range [%d, %d] were held at its ends", name, outside, dtype,
                    info.min, info.max)
    return np.clip(np.rint(array), info.min, info.max).astype(dtype)


def write_volume_to(volume: Volume, temporary: Path, dtype: np.dtype | type | None = None) -> None:
    """Write ``volume`` to ``temporary`` (a name from ``output_set``), as it is: no checks, no rename."""
    array = volume.array if dtype is None else stored_as(volume.array, np.dtype(dtype), temporary.name)
    image = to_sitk(volume, array)
    try:
        sitk.WriteImage(image, str(temporary), useCompression=True)
    except RuntimeError as exc:
        raise OutputError(f"{temporary.name}: writing failed: {str(exc).strip().splitlines()[-1]}") from None


def verify_volume_file(path: Path, temporary: Path) -> None:
    """A written volume holds all its data: ITK's NIfTI writer reports a full disk only on the console and
    leaves a short file, so the result is read back (its header, and the size of its data) before it is kept.
    Outputs that are not volumes (a CSV, a PNG) pass as they are."""
    if volume_extension(path) is None:
        return
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(temporary))
    try:
        reader.ReadImageInformation()
        check_declared_size(temporary, reader.GetSize(), _bytes_per_voxel(reader.GetPixelID()))
    except (RuntimeError, InputError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise OutputError(f"{path}: writing failed (disk full, or the file system refused it): {detail}; "
                          "nothing was written") from None
