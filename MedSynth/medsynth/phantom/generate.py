"""Phantom subjects and IXI-style phantom datasets on disk."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError, OutputError
from ..file_checks import VOXEL_LIMIT_VARIABLE, max_voxels
from ..io import check_writable_dir, write_volume
from ..volume import Volume
from .anatomy import Anatomy, make_anatomy
from .signal import CONTRAST_NAMES, PHANTOM_CONTRASTS, ULTRA_HIGH_FIELD, simulate

LOWER_FIELD_BLUR = 0.6  # voxels (SD): with 7 T images, the other MR images are acquired at 1/0.7 their voxel size

log = logging.getLogger(__name__)

IXI_SHAPE = (256, 256, 150)
IXI_SPACING = (0.9375, 0.9375, 1.2)
IXI_FOV = tuple(n * s for n, s in zip(IXI_SHAPE, IXI_SPACING, strict=True))  # 240 x 240 x 180 mm


PHANTOM_SHARE = 8  # a phantom may use an eighth of the volume voxel limit (it holds many arrays at once)
WORKING_BYTES_PER_VOXEL = 48  # measured order of magnitude: tissue maps, labels and contrasts in memory together


def phantom_grid(
    shape: Sequence[int] = IXI_SHAPE,
    spacing: Sequence[float] | None = None,
    direction: np.ndarray | None = None,
) -> Volume:
    """An empty grid of ``shape`` (i, j, k) centred on the head.

    Without ``spacing``, the voxel size is chosen so the field of view is IXI's 240 x 240 x 180 mm,
    so a small grid still holds a whole head.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 4:
        raise ConfigError(f"phantom shape must be three sizes of at least 4 voxels, got {shape}")
    voxels = shape[0] * shape[1] * shape[2]
    if voxels > max_voxels() // PHANTOM_SHARE:
        # the anatomy, its labels and a few contrasts are held at once, in float32 and float64
        needed = voxels * WORKING_BYTES_PER_VOXEL / 2**30
        raise ConfigError(f"phantom shape {'x'.join(map(str, shape))} is {voxels:,} voxels and would need about "
                          f"{needed:,.0f} GiB of memory; the limit is {max_voxels() // PHANTOM_SHARE:,} voxels "
                          f"(${VOXEL_LIMIT_VARIABLE} raises it)")
    spacing = tuple(f / n for f, n in zip(IXI_FOV, shape, strict=True)) if spacing is None else tuple(spacing)
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ConfigError(f"phantom spacing must be three positive sizes in mm, got {spacing}")
    direction = np.eye(3) if direction is None else np.asarray(direction, dtype=np.float64)
    half_extent = direction @ (np.asarray(spacing) * (np.asarray(shape) - 1) / 2.0)
    return Volume.from_geometry(
        np.zeros(shape[::-1], dtype=np.float32), spacing=spacing, origin=-half_extent, direction=direction
    )


@dataclass
class PhantomSubject:
    """One subject: a volume per contrast, plus head mask and tissue labels for each anatomy used."""

    name: str
    images: dict[str, Volume]
    masks: dict[str, Volume]  # contrast -> head mask of the anatomy that contrast was drawn from
    labels: dict[str, Volume]


def make_subject(
    grid: Volume,
    seed: int,
    index: int = 0,
    contrasts: Sequence[str] = CONTRAST_NAMES,
    unpaired: bool = False,
    lesion_probability: float = 0.25,
    noise: float = 0.02,
    name: str | None = None,
    field: float = 1.5,
    symmetric: bool = False,
) -> PhantomSubject:
    """Simulate subject ``index`` of the dataset with ``seed``; same arguments, same voxels.

    Paired: every contrast images one anatomy. Unpaired: each contrast images its own anatomy, as
    when contrasts come from different people (for CycleGAN/UNIT-style training). ``field``: the field
    strength (tesla) of the MR contrasts other than ``T1_7T`` and ``T2_7T``; when those 7 T contrasts are
    asked for too, the others are imaged at a coarser resolution (blurred by ``LOWER_FIELD_BLUR``), as a
    3 T image resampled onto a 7 T grid is. ``symmetric``: mirror-symmetric anatomy but for the lesion
    (``medsynth.phantom.anatomy.make_anatomy``).
    """
    unknown = [c for c in contrasts if c not in PHANTOM_CONTRASTS]
    if unknown:
        raise ConfigError(f"unknown phantom contrast(s) {unknown}; available: {', '.join(PHANTOM_CONTRASTS)}")
    with_7t = any(c in ULTRA_HIGH_FIELD for c in contrasts)
    images, masks, labels = {}, {}, {}
    anatomy: Anatomy | None = None
    for ci, contrast in enumerate(contrasts):
        if anatomy is None or unpaired:
            tag = [seed, index] if not unpaired else [seed, index, 100 + PHANTOM_CONTRASTS.index(contrast)]
            rng = np.random.default_rng(tag)
            anatomy = make_anatomy(grid, rng, lesion=bool(rng.random() < lesion_probability), symmetric=symmetric)
            mask = grid.with_array(anatomy.head_mask.astype(np.uint8))
            label = grid.with_array(anatomy.labels)
        blur = LOWER_FIELD_BLUR if with_7t and contrast not in ULTRA_HIGH_FIELD and contrast != "CT" else 0.0
        image = simulate(anatomy, contrast, np.random.default_rng([seed, index, ci + 1]), noise=noise, field=field,
                         blur=blur)
        images[contrast] = grid.with_array(image)
        masks[contrast] = mask
        labels[contrast] = label
    return PhantomSubject(name or f"phantom{index + 1:03d}", images, masks, labels)


def write_phantom_dataset(
    out_dir: str | Path,
    subjects: int = 1,
    shape: Sequence[int] = IXI_SHAPE,
    spacing: Sequence[float] | None = None,
    seed: int = 0,
    contrasts: Sequence[str] = CONTRAST_NAMES,
    unpaired: bool = False,
    lesion_probability: float = 0.25,
    noise: float = 0.02,
    write_labels: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    field: float = 1.5,
    symmetric: bool = False,
) -> list[Path]:
    """Write an IXI-style folder: ``<subject>-T1.nii.gz``, ``-T2``, ``-PD``, ``-FLAIR``, ``-CT``, ``-mask``.

    MR images are stored as int16 (as scanners and IXI do), CT in HU as int16, masks as uint8. In
    unpaired mode each contrast has its own anatomy, hence its own ``<subject>-<contrast>-mask``. ``symmetric``:
    see :func:`make_subject`.
    """
    if not 1 <= subjects <= 10_000:
        raise ConfigError(f"--subjects must be between 1 and 10000, got {subjects}")
    if not 0 <= noise <= 1:
        raise ConfigError(f"--noise must be 0 to 1 (a fraction of the brightest tissue), got {noise}")
    grid = phantom_grid(shape, spacing)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; expected a folder for the phantom dataset (a new or existing one)")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror or exc}); choose a writable place") from None
    written: list[Path] = []
    try:
        check_writable_dir(out)
        _write_subjects(out, grid, written, subjects, seed, contrasts, unpaired, lesion_probability, noise,
                        write_labels, overwrite, progress, field, symmetric)
    except BaseException:  # a full disk, a bad setting, Ctrl-C: no partly written dataset is left behind
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return written


def _write_subjects(out, grid, written, subjects, seed, contrasts, unpaired, lesion_probability, noise,
                    write_labels, overwrite, progress, field, symmetric) -> None:
    for index in range(subjects):
        subject = make_subject(grid, seed, index, contrasts, unpaired, lesion_probability, noise, field=field,
                               symmetric=symmetric)
        for contrast, image in subject.images.items():
            written.append(
                write_volume(image, out / f"{subject.name}-{contrast}.nii.gz", overwrite, dtype=np.int16)
            )
        extra = {"mask": subject.masks, "labels": subject.labels} if write_labels else {"mask": subject.masks}
        for kind, per_contrast in extra.items():
            items = per_contrast.items() if unpaired else [(None, next(iter(per_contrast.values())))]
            for contrast, vol in items:
                stem = f"{subject.name}-{contrast}-{kind}" if contrast else f"{subject.name}-{kind}"
                written.append(write_volume(vol, out / f"{stem}.nii.gz", overwrite, dtype=np.uint8))
        log.info("phantom subject %s written", subject.name)
        if progress:
            progress(index + 1, subjects, subject.name)
