"""The one validation layer for files MedSynth reads: checked before anything in them is trusted.

- Only regular files are read: a FIFO, a device (``/dev/zero``, ``/dev/urandom``), a socket or a folder
  given as a volume, mask, model or configuration is refused up front (reading one would block or never end).
- Headers with separate data files (MetaImage ``ElementDataFile``, NRRD ``data file``) may only name a
  regular file inside the header's own folder: ``/etc/passwd`` or ``../../secret`` is never read.
- A volume's declared size is checked before its data is read: against a voxel limit (``MAX_VOXELS``,
  overridable with ``$MEDSYNTH_MAX_VOXELS``), and against what the file actually holds (a truncated or
  zero-filled file, or a small file claiming a huge shape, fails before memory is allocated).
- NIfTI voxel sizes must be positive and finite.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from pathlib import Path

from .core.errors import InputError
from .core.files import regular_file

log = logging.getLogger(__name__)

# 268 million voxels: 1 GiB as float32, far above a 0.5 mm whole-head 7T scan (~80 million); a synthesis peaks at
# about 5 GB for a volume this size (docs/benchmarks.md), so a small file cannot make MedSynth claim much more.
MAX_VOXELS = 2**28
LARGE_VOXELS = 2**26  # 67 million voxels, 4x a 256^3 head: read with a warning saying the memory it needs
PEAK_BYTES_PER_VOXEL = 20  # measured peak of `medsynth synthesize` per voxel (5.0 GB for 2^28 voxels)
VOXEL_LIMIT_VARIABLE = "MEDSYNTH_MAX_VOXELS"
CHUNK = 1 << 20


def max_voxels() -> int:
    """The voxel limit in force: ``$MEDSYNTH_MAX_VOXELS`` if set, else ``MAX_VOXELS``."""
    text = os.environ.get(VOXEL_LIMIT_VARIABLE, "")
    if not text:
        return MAX_VOXELS
    try:
        value = int(float(text))
    except ValueError:
        raise InputError(f"${VOXEL_LIMIT_VARIABLE}={text!r}: expected a number of voxels") from None
    if value < 1:
        raise InputError(f"${VOXEL_LIMIT_VARIABLE}={text!r}: expected a positive number of voxels")
    return value


def _header_fields(path: Path, separator: str, limit: int = 1 << 16) -> dict[str, str]:
    """The ``key<separator>value`` lines at the start of a text header (MetaImage, NRRD), lower-case keys."""
    with path.open("rb") as f:
        head = f.read(limit)
    fields = {}
    for raw in head.split(b"\n"):
        line = raw.decode("latin-1").strip()
        if not line:
            if separator == ":" and fields:  # NRRD: a blank line ends the header
                break
            continue
        if separator in line:
            key, value = line.split(separator, 1)
            fields.setdefault(key.strip().lower(), value.strip())
        if separator == "=" and line.lower().startswith("elementdatafile"):
            break  # MetaImage: the data file is the header's last field
    return fields


def data_file(header: Path) -> Path | None:
    """The separate data file a MetaImage or NRRD header names (checked), or None if the data is inside."""
    name = None
    if header.suffix.lower() in (".mhd", ".mha"):
        name = _header_fields(header, "=").get("elementdatafile")
        if name is None or name.upper() == "LOCAL":
            return None
    elif header.suffix.lower() in (".nhdr", ".nrrd"):
        fields = _header_fields(header, ":")
        name = fields.get("data file", fields.get("datafile"))
        if name is None:
            return None
    else:
        return None
    if name.upper().startswith("LIST") or "%" in name or " " in name.strip():
        raise InputError(f"{header}: names its data as a list or pattern of files ({name!r}); expected one data "
                         "file next to the header")
    target = (header.parent / name).resolve()
    if target.parent != header.parent.resolve():
        raise InputError(f"{header}: its data file {name!r} lies outside the header's folder; MedSynth reads only "
                         "data files next to their header")
    return regular_file(target, f"data file of {header.name}")


def _stream_length(path: Path, offset: int, kind: str, enough: int) -> int:
    """Bytes a compressed stream decompresses to (stopping after ``enough``); raises on a truncated stream."""
    with path.open("rb") as raw:
        raw.seek(offset)
        if kind == "gzip":
            stream, total = gzip.GzipFile(fileobj=raw), 0
            while total <= enough:
                block = stream.read(CHUNK)
                if not block:
                    break
                total += len(block)
            return total
        decompressor, total = zlib.decompressobj(), 0
        while total <= enough:
            block = raw.read(CHUNK)
            if not block:
                if not decompressor.eof:
                    raise EOFError("the compressed data ends before its end-of-stream marker")
                break
            total += len(decompressor.decompress(block, max(enough + 1 - total, 1)))
            while decompressor.unconsumed_tail and total <= enough:
                total += len(decompressor.decompress(decompressor.unconsumed_tail, max(enough + 1 - total, 1)))
        return total


def check_declared_size(path: Path, size: tuple[int, ...], bytes_per_voxel: int) -> None:
    """Refuse a volume over the voxel limit, or one whose file holds less data than its header declares."""
    voxels = 1
    for extent in size:
        voxels *= int(extent)
    limit = max_voxels()
    shape = "x".join(map(str, size))
    if voxels > limit:
        raise InputError(f"{path}: declares {shape} = {voxels:,} voxels ({voxels * 4 / 2**30:.1f} GiB as float32), "
                         f"over the limit of {limit:,}; set ${VOXEL_LIMIT_VARIABLE} to allow more")
    if voxels > LARGE_VOXELS:
        log.warning("%s: a large volume, %s = %s voxels; processing it needs about %.1f GB of memory", path, shape,
                    f"{voxels:,}", voxels * PEAK_BYTES_PER_VOXEL / 1e9)
    where, offset, kind, skip, stored = _data_location(path)
    # ITK reports a NIfTI's scaled type (float for scl_slope); the file holds its stored type
    expected = voxels * bytes_per_voxel if stored is None else stored
    if kind is None:
        return  # a text encoding, or a layout whose size cannot be told in advance: the voxel limit holds
    try:
        if kind == "raw":
            available = where.stat().st_size - offset
        else:
            available = _stream_length(where, offset, kind, skip + expected) - skip
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: the image data is truncated or corrupt ({exc}); expected {expected:,} bytes "
                         f"for {'x'.join(map(str, size))} voxels") from None
    if available < expected:
        raise InputError(f"{path}: holds {max(available, 0):,} bytes of image data where its header declares "
                         f"{expected:,} ({'x'.join(map(str, size))} voxels): the file is truncated")


def _data_location(path: Path) -> tuple[Path, int, str | None, int, int | None]:
    """Where a volume's voxels are: (file, offset in it, "raw" | "gzip" | "zlib" | None when it cannot be
    told, bytes of the decompressed stream before the voxels, the bytes a NIfTI header declares or None)."""
    name = path.name.lower()
    if name.endswith((".nii.gz", ".nii")):
        header = raw_nifti_header(path)
        if header is None:
            return path, 0, None, 0, None
        offset, stored = int(header["vox_offset"]), _nifti_stored_bytes(header)
        return (path, 0, "gzip", offset, stored) if name.endswith(".gz") else (path, offset, "raw", 0, stored)
    if name.endswith((".mhd", ".mha")):
        fields = _header_fields(path, "=")
        compressed = fields.get("compresseddata", "false").lower() == "true"
        target = data_file(path) or path
        offset = 0 if target != path else _end_of_text_header(path, "elementdatafile")
        if int(fields.get("headersize", "0") or 0) > 0:
            offset += int(fields["headersize"])
        return target, offset, "zlib" if compressed else "raw", 0, None
    if name.endswith((".nrrd", ".nhdr")):
        fields = _header_fields(path, ":")
        encoding = fields.get("encoding", "raw").lower()
        target = data_file(path) or path
        offset = 0 if target != path else _end_of_nrrd_header(path)
        if fields.get("byte skip", fields.get("byteskip", "0")) not in ("0", ""):
            return target, offset, None, 0, None
        return target, offset, {"raw": "raw", "gzip": "gzip", "gz": "gzip"}.get(encoding), 0, None
    return path, 0, None, 0, None


def raw_nifti_header(path: Path):
    """The NIfTI header exactly as stored (nibabel's loader would repair zero voxel sizes silently), or None."""
    import nibabel as nib
    from nibabel.openers import ImageOpener

    try:
        with ImageOpener(str(path)) as f:
            head = f.read(4)
            f.seek(0)
            kind = nib.Nifti2Header if int.from_bytes(head, "little") == 540 or int.from_bytes(head, "big") == 540 \
                else nib.Nifti1Header
            return kind.from_fileobj(f, check=False)
    except Exception:  # not a NIfTI header nibabel can parse: ITK's own reader reports it
        return None


def _nifti_stored_bytes(header) -> int:
    """The bytes of voxel data a NIfTI header declares (shape x bitpix)."""
    count = 1
    for extent in header.get_data_shape():
        count *= max(int(extent), 1)
    return count * max(int(header["bitpix"]), 8) // 8


def _end_of_text_header(path: Path, last_key: str) -> int:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    index = head.lower().find(last_key.encode())
    newline = head.find(b"\n", index)
    return newline + 1 if index >= 0 and newline >= 0 else 0


def _end_of_nrrd_header(path: Path) -> int:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    index = head.find(b"\n\n")
    return index + 2 if index >= 0 else 0


def check_nifti_header(path: Path) -> None:
    """Voxel sizes (pixdim) must be positive and finite, and a stored orientation must not be degenerate: ITK
    would only warn, or fail with a message about direction cosines."""
    if not path.name.lower().endswith((".nii", ".nii.gz")):
        return
    import numpy as np

    header = raw_nifti_header(path)
    if header is None:
        return
    sizes = [float(v) for v in header["pixdim"][1:4]]
    if not all(np.isfinite(v) and v > 0 for v in sizes):
        raise InputError(f"{path}: voxel size (NIfTI pixdim) is {sizes}; expected three positive, finite sizes in mm")
    if int(header["sform_code"]) > 0:
        rows = np.array([header["srow_x"], header["srow_y"], header["srow_z"]], dtype=np.float64)
        if not np.isfinite(rows).all() or abs(np.linalg.det(rows[:, :3])) < 1e-12:
            raise InputError(f"{path}: its orientation matrix (NIfTI sform, srow_x/y/z) is degenerate or not finite: "
                             f"{rows[:, :3].tolist()}; expected three independent axes")
