"""Paired training data: subjects loaded, checked, normalized, split, and cut into 2D slices.

Each subject's source and target must lie on one voxel grid (co-registered; ``medsynth prepare`` does
that). Volumes are normalized per subject and contrast as the model card will say (seed 000: min-max
to [-1, 1]; seeds 001/002: z-score). For 2D models slices are taken along the array axis nearest the
chosen anatomical plane, exactly as the slice-wise inference engine takes them, and slices with too
little head in them are skipped; 3D models keep the array's own axis order (``patches.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import intensity
from ..core.contrasts import contrast as contrast_facts
from ..core.errors import ConfigError, InputError
from ..dataset import MASK, find_subjects, require_contrasts
from ..io import read_volume
from ..mask import bounding_box, foreground_mask
from ..resample import in_plane_spacing, resample_to_spacing
from ..volume import PLANES, Volume
from .augment import augment
from .config import ALL_PLANES, DataConfig

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")


@dataclass
class PairedSubject:
    """One subject, normalized, with the slice axis moved first (``[slice, row, column]``; a many-to-one
    model's inputs stacked in front: ``[input, slice, row, column]``)."""

    name: str
    source: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    axis: int  # slice axis in the original array
    geometry: Volume  # the source volume (grid and raw intensities)
    target_norm: dict[str, Any]  # fitted
    target_background: float  # raw target intensity outside the head
    source_fill: float  # normalized background used for padding
    target_fill: float
    lr_axis: int  # the array axis nearest to left-right (3D flips)


def split_subjects(names: list[str], config: DataConfig) -> dict[str, list[str]]:
    """Subject-level split: explicit lists from the config, or seeded random fractions."""
    if config.subjects:
        split = {k: list(config.subjects.get(k, [])) for k in SPLITS}
        unknown = sorted(set(config.subjects) - set(SPLITS))
        missing = sorted({s for v in split.values() for s in v} - set(names))
        if unknown or missing:
            raise ConfigError(f"data.subjects: unknown split(s) {unknown} or subject(s) {missing}; subjects in the "
                              f"dataset: {', '.join(names)}")
    else:
        rng = np.random.default_rng(config.split_seed)
        order = [names[i] for i in rng.permutation(len(names))]
        n_val = _count(config.validation, len(names), "validation")
        n_test = _count(config.test, len(names), "test")
        if n_val + n_test >= len(names):
            raise ConfigError(
                f"too few subjects for the split: {len(names)} subject(s), {n_val} for validation and {n_test} for "
                "test leave none for training; add subjects or lower data.validation / data.test"
            )
        split = {"validation": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    if not split["train"]:
        raise ConfigError("too few subjects for the split: no training subject left")
    return {k: sorted(split[k]) for k in SPLITS}


def _count(fraction: float, n: int, what: str) -> int:
    if not 0 <= fraction < 1:
        raise ConfigError(f"data.{what} must be a fraction in [0, 1), got {fraction}")
    return 0 if fraction == 0 else max(1, round(fraction * n))


def discover(config: DataConfig) -> dict[str, dict[str, Path]]:
    if not config.root:
        raise ConfigError("no dataset given: set data.root (or --data) to an IXI-style folder or a CSV list file")
    subjects = find_subjects(config.root, config.patterns)
    if config.subjects:  # an explicit split: only the subjects it names need the mapping's contrasts
        named = {s for names in config.subjects.values() if isinstance(names, list) for s in names}
        missing = sorted(named - set(subjects))
        if missing:
            raise ConfigError(f"data.subjects names {', '.join(missing)}, not in {config.root}; subjects there: "
                              f"{', '.join(subjects)}")
        subjects = {name: files for name, files in subjects.items() if name in named}
    require_contrasts(subjects, (*config.inputs, config.target), config.root)
    return subjects


def normalization_for(contrast: str, config: DataConfig, spatial_dims: int) -> dict[str, Any]:
    """The normalization spec of ``contrast``: ``auto`` is min-max for 2D (seed 000), z-score for 3D
    (seeds 001/002); CT (in HU) keeps its fixed window unless z-score is asked for explicitly."""
    kind = config.normalization
    if kind == "auto":
        kind = "minmax" if spatial_dims == 2 else "zscore"
        if contrast_facts(contrast).hounsfield:
            return intensity.default_normalization(contrast)
    if kind == "nyul" and contrast == config.inputs[0] and config.standard:
        return {"kind": "nyul", "percentiles": list(intensity.NYUL_PERCENTILES), "standard": list(config.standard)}
    if kind == "nyul" and contrast == config.inputs[0]:
        raise ConfigError("data.normalization nyul needs its standard landmarks (data.standard), learned over the "
                          "training subjects when a run starts")
    if kind in ("percentile", "nyul"):  # nyul standardizes the input; the target keeps its own percentiles
        return {"kind": "percentile", "percentiles": list(intensity.FOREGROUND_PERCENTILES)}
    return {"kind": "zscore"} if kind == "zscore" else intensity.default_normalization(contrast)


def learn_standard(subjects: dict[str, dict[str, Path]], names: list[str], config: DataConfig) -> list[float]:
    """The nyul landmarks of the first input over the subjects ``names`` (inside each one's head mask)."""
    volumes = []
    for name in names:
        files = subjects[name]
        array = read_volume(files[config.inputs[0]]).array
        mask = read_volume(files[MASK]).array > 0 if MASK in files else foreground_mask(array)
        volumes.append((array, mask))
    return nyul_standard(volumes)["standard"]


def nyul_standard(volumes: list[tuple[np.ndarray, np.ndarray]],
                  percentiles: tuple[float, ...] = intensity.NYUL_PERCENTILES) -> dict[str, Any]:
    """The ``nyul`` spec learned over ``(array, foreground mask)`` pairs: intensity-normalization's
    :class:`NyulNormalizer` averages each volume's landmarks on a common 1..100 scale, which is then mapped
    linearly to [-1, 1] so the network sees the range it sees under ``percentile``."""
    from intensity_normalization.adapters.images import create_image
    from intensity_normalization.normalizers.population.nyul import NyulNormalizer

    if not volumes:
        raise ConfigError("the nyul standardization needs at least one training volume")
    low, high = 1.0, 100.0
    inner = percentiles[1:-1]
    normalizer = NyulNormalizer(output_min_value=low, output_max_value=high, min_percentile=percentiles[0],
                                max_percentile=percentiles[-1], percentile_after_min=inner[0],
                                percentile_before_max=inner[-1], percentile_step=inner[1] - inner[0])
    if normalizer.percentiles.shape != (len(percentiles),) or not np.allclose(normalizer.percentiles, percentiles):
        raise ConfigError(f"nyul percentiles must be evenly spaced between the end ones, got {list(percentiles)}")
    normalizer.fit_population([create_image(np.asarray(a, dtype=np.float32)) for a, _ in volumes],
                              [create_image(m.astype(np.float32)) for _, m in volumes])
    standard = (np.asarray(normalizer.standard_scale) - low) * (2.0 / (high - low)) - 1.0
    return {"kind": "nyul", "percentiles": [float(p) for p in percentiles],
            "standard": intensity.increasing_landmarks(standard)}


def training_planes(config: DataConfig) -> tuple[str, ...]:
    """The planes 2D training slices are taken in: the configured one, or all three."""
    return PLANES if config.plane == ALL_PLANES else (config.plane,)


def load_subject(name: str, files: dict[str, Path], config: DataConfig, spatial_dims: int = 2,
                 plane: str | None = None, inputs: list[str] | None = None, target: str | None = None,
                 spacing: float | None = None) -> PairedSubject:
    """Read, check and normalize one subject; 2D moves the slice axis of ``plane`` (default: the
    configured one, axial for "all") first, 3D keeps the array's axes.

    ``inputs`` and ``target`` default to the configuration's (one domain of unpaired data: the target may
    be the first input itself). ``spacing``: resample every volume to this voxel size (mm) in the slice
    plane, along every axis for 3D models or all planes.
    """
    inputs = list(inputs or config.inputs)
    target_contrast = target or config.target
    read = {c: read_volume(files[c]) for c in dict.fromkeys([*inputs, target_contrast])}
    volumes, target_volume = [read[c] for c in inputs], read[target_contrast]
    for contrast, volume in zip(inputs, volumes, strict=True):
        if not volume.same_grid(target_volume):
            raise InputError(
                f"subject {name}: {contrast} {volume.array.shape} and {target_contrast} {target_volume.array.shape} "
                f"are not on one voxel grid ({files[contrast].name}, {files[target_contrast].name}); register and "
                "resample them first with `medsynth prepare`"
            )
    for contrast, volume in read.items():
        if contrast_facts(contrast).hounsfield:
            check_hounsfield(volume, f"subject {name}: {files[contrast].name}")
    source = volumes[0]
    if MASK in files:
        mask_volume = read_volume(files[MASK])
        if not mask_volume.same_grid(source):
            raise InputError(f"subject {name}: mask {files[MASK].name} is on another grid than its volumes")
        mask = mask_volume.array > 0
    else:
        mask = foreground_mask(source.array)
    if not mask.any():
        raise InputError(f"subject {name}: no foreground (head) found in {files[inputs[0]].name}")
    plane = plane or training_planes(config)[0]
    if spacing is not None:
        voxel = in_plane_spacing(source, plane if spatial_dims == 2 and config.plane != ALL_PLANES else None, spacing)
        mask = resample_to_spacing(source.with_array(mask.astype(np.float32)), voxel).array > 0.5
        read = {c: resample_to_spacing(v, voxel) for c, v in read.items()}
        volumes, target_volume = [read[c] for c in inputs], read[target_contrast]
        source = volumes[0]
    source_spec = normalization_for(inputs[0], config, spatial_dims)
    target_norm = intensity.fit(normalization_for(target_contrast, config, spatial_dims), target_volume.array, mask)
    axis = source.slice_axis(plane) if spatial_dims == 2 else 0
    normalized = [np.moveaxis(intensity.apply(intensity.fit(source_spec, v.array, mask), v.array), axis, 0)
                  for v in volumes]
    s = normalized[0] if len(normalized) == 1 else np.stack(normalized)  # [input, ...] for many-to-one
    t = np.moveaxis(intensity.apply(target_norm, target_volume.array), axis, 0)
    outside = target_volume.array[~mask]
    return PairedSubject(
        name=name, source=np.ascontiguousarray(s), target=np.ascontiguousarray(t),
        mask=np.ascontiguousarray(np.moveaxis(mask, axis, 0)), axis=axis, geometry=source, target_norm=target_norm,
        target_background=float(np.median(outside)) if outside.size else float(target_volume.array.min()),
        source_fill=float(s.min()), target_fill=float(t.min()), lr_axis=source.slice_axis("sagittal"),
    )


def check_hounsfield(volume: Volume, where: str) -> None:
    """CT must be in Hounsfield units. Scanner values stored without the rescale intercept (+1024, 0..4095)
    have no air near -1000 and put soft tissue near 1000, which the fixed HU window would read as bone."""
    array = volume.array
    if float(array.min()) < -200:
        return  # air (or the scanner's padding) in HU
    tissue = float(np.median(array[foreground_mask(array)]))
    if tissue > 600:
        raise InputError(f"{where}: the CT has no air below -200 and the head's median is {tissue:.0f}, but soft "
                         "tissue is about 0-100 HU and air -1000 HU: it looks stored without the rescale intercept "
                         "(e.g. +1024, or 0..4095) or in Cormack units (as the scct template); convert it to HU "
                         "first (subtract 1024, apply the DICOM RescaleSlope and RescaleIntercept, or `medsynth "
                         "prepare --ct-units cormack`)")


class PairedDraws:
    """One augmented ``(source, target, mask)`` training sample of a paired dataset: the same geometric
    transform on all three, intensity augmentation on the source."""

    def draw(self, item, generator: torch.Generator, config) -> tuple[torch.Tensor, ...]:
        subject = self.subject(int(item))
        source, target, mask = self.sample(int(item), generator)
        return augment(source[None], target[None], mask[None], config, generator,
                       (subject.source_fill, subject.target_fill), subject.lr_axis)


class SliceDataset(torch.utils.data.Dataset, PairedDraws):
    """``(source [C, size, size], target [1, size, size], mask [1, size, size])`` from the head-holding slices."""

    def __init__(self, subjects: list[PairedSubject], config: DataConfig) -> None:
        self.subjects, self.size, self.context = subjects, config.size, config.context
        self.index: list[tuple[int, int]] = []
        self.centres: list[tuple[int, int]] = []
        for number, subject in enumerate(subjects):
            area = subject.mask.reshape(subject.mask.shape[0], -1).mean(axis=1)
            self.index += [(number, int(k)) for k in np.flatnonzero(area >= config.min_foreground)]
            box = bounding_box(subject.mask.any(axis=0))
            self.centres.append(tuple((b.start + b.stop) // 2 for b in box))
        if not self.index:
            raise InputError("no training slice holds enough head (data.min_foreground); check the dataset")

    def __len__(self) -> int:
        return len(self.index)

    def epoch_items(self, rng: np.random.Generator, limit: int | None) -> np.ndarray:
        """This epoch's items in order: every slice (or ``limit`` of them), shuffled."""
        return rng.permutation(len(self))[:limit]

    def subject(self, item: int) -> PairedSubject:
        return self.subjects[self.index[item][0]]

    def sample(self, item: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """Slice ``item`` (with its context slices) and its mask in a size x size window around the head."""
        number, k = self.index[item]
        subject = self.subjects[number]
        last = subject.target.shape[0] - 1
        neighbours = np.clip(np.arange(k - self.context, k + self.context + 1), 0, last)
        starts = tuple(c - self.size // 2 for c in self.centres[number])
        stack = subject.source[neighbours] if subject.source.ndim == 3 else np.concatenate(
            [inputs[neighbours] for inputs in subject.source])  # input-major channels, as inference builds them
        source = window(stack, starts, self.size, subject.source_fill)
        target = window(subject.target[k : k + 1], starts, self.size, subject.target_fill)
        mask = window(subject.mask[k : k + 1], starts, self.size, 0.0)
        return torch.from_numpy(source), torch.from_numpy(target), torch.from_numpy(mask)

    __getitem__ = sample


def window(stack: np.ndarray, starts: tuple[int, ...], size: int, fill: float) -> np.ndarray:
    """``stack[:, start:start + size, ...]`` on every spatial axis, padded with ``fill`` past the image."""
    out = np.full((stack.shape[0],) + (size,) * len(starts), fill, dtype=np.float32)
    src, dst = [slice(None)], [slice(None)]
    for dim, start in enumerate(starts, 1):
        lo, hi = max(start, 0), min(start + size, stack.shape[dim])
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[tuple(dst)] = stack[tuple(src)]
    return out


def write_split(path: Path, split: dict[str, list[str]], subjects: dict[str, dict[str, dict[str, Path]]]) -> None:
    """``split.json``: each list's subjects with their files (``subjects``: per list, the dataset its names are
    from; a list without one is written as plain names)."""
    record = {k: {s: {c: str(p) for c, p in subjects[k][s].items()} for s in v} if k in subjects else list(v)
              for k, v in split.items()}
    path.write_text(json.dumps(record, indent=2))


def read_split(path: Path, keys: tuple[str, ...] = SPLITS) -> dict[str, list[str]]:
    """The lists ``keys`` of a run's recorded ``split.json``."""
    try:
        record = json.loads(path.read_text())
        return {k: sorted(record[k]) for k in keys}
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot read the recorded split ({exc}); was it recorded by this kind of run "
                          "(paired or unpaired)?") from None
