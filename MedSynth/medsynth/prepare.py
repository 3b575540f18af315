"""From a raw multi-contrast folder to a training-ready one (``medsynth prepare``).

Per subject: every other contrast is registered onto the reference contrast (rigid, then affine, mutual
information) and resampled onto its grid; the head mask of the reference is written (with skull stripping,
its brain mask, and every contrast is set to background outside it); optionally all are cropped to the
mask's bounding box. A report gives each registration's quality before and after (mutual
information, head-mask Dice, rotation and translation found) and a checkerboard mosaic per pair.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

# A bare Figure (no pyplot): renders to files headless and never touches the global matplotlib backend.
from matplotlib.figure import Figure

from .core.contrasts import CONTRASTS
from .core.errors import ConfigError, InputError, MedSynthError
from .core.files import atomic_output
from .core.intensity import cormack_to_hounsfield
from .core.progress import ProgressCallback
from .dataset import MASK, find_subjects, require_contrasts
from .io import check_output_path, read_volume, write_volume
from .mask import bounding_box, crop, foreground_mask
from .registration import STAGES, register
from .resample import resample_to
from .skull_strip import brain_mask, strip
from .volume import PLANES, Volume, to_sitk

log = logging.getLogger(__name__)
REPORT_COLUMNS = ["subject", "contrast", "mi_before", "mi_after", "dice_before", "dice_after", "rotation_deg",
                  "translation_mm", "seconds", "status"]
MAX_MARGIN = 256  # voxels around the head when cropping
CT_UNITS = ("hu", "cormack")


@dataclass
class PrepareOptions:
    reference: str = "T1"
    contrasts: Sequence[str] | None = None  # default: every contrast found
    stages: tuple[str, ...] = STAGES
    crop: bool = False
    margin: int = 8
    overwrite: bool = False
    ct_units: str = "hu"  # or "cormack": CT stored in Rorden et al.'s Cormack units, converted to HU
    skull_strip: bool = False  # the brain of the reference contrast (medsynth.skull_strip) masks every contrast

    def __post_init__(self) -> None:
        if isinstance(self.margin, bool) or not isinstance(self.margin, int) or not 0 <= self.margin <= MAX_MARGIN:
            raise ConfigError(f"--margin must be 0 to {MAX_MARGIN} voxels, got {self.margin!r}")
        if self.ct_units not in CT_UNITS:
            raise ConfigError(f"--ct-units must be one of {', '.join(CT_UNITS)}, got {self.ct_units!r}")
        if self.skull_strip and self.reference in CONTRASTS and not CONTRASTS[self.reference].mri:
            raise ConfigError("--skull-strip extracts the brain on the reference contrast, which must be an MRI "
                              "(the extractor was trained on T1): choose --reference T1")
        unknown = sorted(set(self.stages) - set(STAGES))
        if not self.stages or unknown:
            raise ConfigError(f"registration stages must be among {', '.join(STAGES)}, got {list(self.stages)}")


def prepare_dataset(raw: str | Path, out: str | Path, options: PrepareOptions, patterns: Sequence[str] = (),
                    progress: ProgressCallback | None = None) -> list[dict]:
    """Register, resample, mask and (optionally) crop every subject; returns the report rows.

    A subject that fails leaves none of its files; the others are prepared. ``OUT/report.csv`` is written in
    every case (also after Ctrl-C): a row per registered contrast of each prepared subject, and a row per
    subject that failed or was not reached, with why in ``status``. Any failure then raises an ``InputError``
    naming the subjects, so a script does not take a partial folder for a whole one."""
    subjects = find_subjects(raw, patterns)
    wanted = list(options.contrasts) if options.contrasts else sorted(
        {c for files in subjects.values() for c in files if c not in (MASK, options.reference)})
    require_contrasts(subjects, [options.reference, *wanted], raw)
    out = Path(out)
    (out / "report").mkdir(parents=True, exist_ok=True)
    existing = [p for s in subjects for c in [options.reference, *wanted, MASK]
                if (p := out / f"{s}-{c}.nii.gz").exists()]
    if existing and not options.overwrite:
        raise InputError(f"{out}: already holds prepared files ({existing[0].name}, ...); pass --overwrite")
    inputs = [path for files in subjects.values() for path in files.values()]
    for subject in subjects:  # OUT may be RAW itself: no prepared file may replace a raw one, even with --overwrite
        for contrast in [options.reference, *wanted, MASK]:
            check_output_path(out / f"{subject}-{contrast}.nii.gz", overwrite=True, inputs=inputs)
    rows, failed, outputs = [], {}, [options.reference, *wanted, MASK]
    pending = dict(subjects)
    try:
        for index, (subject, files) in enumerate(subjects.items()):
            try:
                rows += prepare_subject(subject, files, wanted, out, options)
            except MedSynthError as exc:  # this subject's problem: the others go on
                failed[subject] = f"failed: {exc}"
                _remove(out, subject, outputs)
            del pending[subject]
            if progress is not None:
                progress(index + 1, len(subjects), subject)
    except BaseException:  # Ctrl-C, a full disk: the subject under way leaves nothing, the report says where it stopped
        subject = next(iter(pending), None)
        if subject is not None:
            _remove(out, subject, outputs)
        failed.update({s: "not prepared: stopped before this subject was done" for s in pending})
        raise
    finally:
        write_report(out / "report.csv", rows, failed)
    if failed:
        raise InputError(f"{len(failed)} of {len(subjects)} subject(s) could not be prepared ("
                         + "; ".join(f"{s}: {why.removeprefix('failed: ')}" for s, why in list(failed.items())[:3])
                         + ("; ..." if len(failed) > 3 else "") + f"); the other {len(subjects) - len(failed)} are "
                         f"in {out}, and {out / 'report.csv'} lists each subject's outcome")
    return rows


def _remove(out: Path, subject: str, contrasts: Sequence[str]) -> None:
    for contrast in contrasts:
        (out / f"{subject}-{contrast}.nii.gz").unlink(missing_ok=True)


def write_report(path: Path, rows: list[dict], failed: dict[str, str]) -> None:
    """``report.csv``: the registration figures of each prepared contrast, and the subjects that were not."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    writer.writerows({**row, "status": row.get("status", "prepared")} for row in rows)
    writer.writerows({"subject": subject, "status": why} for subject, why in failed.items())
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue())


def prepare_subject(subject: str, files: dict[str, Path], contrasts: Sequence[str], out: Path,
                    options: PrepareOptions) -> list[dict]:
    reference = _read(files, options.reference, options)
    mask = foreground_mask(reference.array)
    if options.skull_strip:
        brain = brain_mask(reference, options.reference)
        for warning in brain.warnings:
            log.warning("subject %s: %s", subject, warning)
        mask = brain.mask
    box = bounding_box(mask, options.margin) if options.crop else None
    rows, outputs = [], {options.reference: reference}
    for contrast in contrasts:
        start = time.perf_counter()
        moving = _read(files, contrast, options)
        try:
            result = register(reference, moving, options.stages)
        except RuntimeError as exc:  # SimpleITK's optimizer failures
            raise InputError(f"subject {subject}: registering {contrast} onto {options.reference} failed ({exc})"
                             ) from None
        outputs[contrast] = result.resampled
        rows.append({"subject": subject, "contrast": contrast, **result.quality,
                     "rotation_deg": result.rotation_deg, "translation_mm": result.translation_mm,
                     "seconds": time.perf_counter() - start})
        checkerboard(out / "report" / f"{subject}-{contrast}-checkerboard.png", reference,
                     resample_to(moving, reference, default_value=float(moving.array.min())), result.resampled,
                     f"{subject}: {contrast} on {options.reference}  (MI {result.quality['mi_before']:.3f} -> "
                     f"{result.quality['mi_after']:.3f}, mask Dice {result.quality['dice_before']:.3f} -> "
                     f"{result.quality['dice_after']:.3f})")
    outputs[MASK] = reference.with_array(mask.astype(np.uint8))
    for contrast, volume in outputs.items():
        if options.skull_strip and contrast != MASK:
            volume = strip(volume, mask)
        if box is not None:
            volume = crop(volume, box)
        dtype = np.uint8 if contrast == MASK else np.float32
        write_volume(volume, out / f"{subject}-{contrast}.nii.gz", overwrite=True, dtype=dtype)
    return rows


def _read(files: dict[str, Path], contrast: str, options: PrepareOptions) -> Volume:
    volume = read_volume(files[contrast])
    if CONTRASTS[contrast].hounsfield and options.ct_units == "cormack":
        volume = volume.with_array(cormack_to_hounsfield(volume.array))
    return volume


def _unit(volume: Volume) -> np.ndarray:
    lo, hi = np.percentile(volume.array, [0.5, 99.5])
    return np.clip((volume.array - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def checkerboard(path: Path, reference: Volume, before: Volume, after: Volume, title: str) -> None:
    """Checkerboards of reference and moving (before / after registration) through the head's centre."""
    mask = foreground_mask(reference.array)
    centre = [int(np.mean(np.nonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))))
              for axis in range(3)]
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 3)
    for row, (label, moving) in enumerate((("before", before), ("after", after))):
        board = sitk.GetArrayFromImage(sitk.CheckerBoard(to_sitk(reference, _unit(reference)),
                                                         to_sitk(reference, _unit(moving)), [6, 6, 6]))
        for col, plane in enumerate(PLANES):
            axis = reference.slice_axis(plane)
            image = np.take(board, centre[axis], axis=axis)
            axes[row, col].imshow(image, cmap="gray", origin="lower")
            axes[row, col].set_title(f"{label}: {plane}", fontsize=9)
            axes[row, col].axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
