"""File-to-file workflows shared by the CLI, the demo and batch scripts, and the one comparison of a synthetic
volume with a reference (``evaluate_conventions``) that the command and the Slicer module both use.

Importing this module does not import torch (the Slicer module compares in its own process); synthesizing
loads it on first use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .core.catalog import resolve_model
from .core.contrasts import contrast_from_filename
from .core.conventions import common_space
from .core.errors import InputError
from .core.options import InferenceOptions, Synthesis
from .core.progress import CancelToken, ProgressCallback
from .io import check_output_path, read_volume, write_volumes
from .mask import foreground_mask
from .metrics import compare
from .resample import resample_to
from .skull_strip import brain_mask, strip_all
from .trust import record_of
from .volume import Volume

if TYPE_CHECKING:
    from .checkpoint import LoadedModel

log = logging.getLogger(__name__)


def synthesize_file(
    input_path: str | Path,
    output_path: str | Path,
    model: str | Path | LoadedModel,
    options: InferenceOptions | None = None,
    input_contrast: str | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    uncertainty_path: str | Path | None = None,
    extra_inputs: tuple[str | Path, ...] = (),
    trust_mask_path: str | Path | None = None,
    skull_strip: bool = False,
    brain_mask_path: str | Path | None = None,
    skull_strip_t1: str | Path | None = None,
) -> tuple[Path, LoadedModel, Synthesis]:
    """Read, check, synthesize and write atomically. Everything that can be checked is checked before
    the long work starts; on any failure or cancellation no output file exists. ``uncertainty_path``: also
    write the voxel-wise uncertainty map (``options.uncertainty``: the expected error, or a test-time ensemble's
    standard deviation; with ``flip``, the image is the ensemble's mean).
    ``extra_inputs``: a many-to-one model's further input files, in the order its card lists them.
    ``trust_mask_path``: also write the untrusted mask (``medsynth.trust``) as a 0/1 label volume.
    ``skull_strip``: extract the brain first (``medsynth.skull_strip``; with ``skull_strip_t1``, the mask of the
    subject's T1 file), synthesize inside it only, write background outside it, and write the mask to
    ``brain_mask_path`` if given."""
    from .checkpoint import LoadedModel, load_model  # torch
    from .device import resolve_device
    from .inference import check_contrast

    options = options or InferenceOptions()
    sources = [Path(input_path), *map(Path, extra_inputs)]
    inputs = [*sources, *([Path(model)] if isinstance(model, (str, Path)) and Path(model).exists() else []),
              *([Path(skull_strip_t1)] if skull_strip_t1 is not None else [])]
    output_path = check_output_path(output_path, overwrite, inputs)
    if (brain_mask_path is not None or skull_strip_t1 is not None) and not skull_strip:
        raise InputError("a brain mask file or a T1 for skull stripping was given without skull stripping: add "
                         "--skull-strip")
    extras = {"the uncertainty map": uncertainty_path, "the trust mask": trust_mask_path,
              "the brain mask": brain_mask_path}
    extras = {what: check_output_path(path, overwrite, inputs) for what, path in extras.items() if path is not None}
    taken = {output_path.resolve(): "the synthetic volume"}
    for what, path in extras.items():
        if path.resolve() in taken:
            raise InputError(f"{path}: {what} needs another file than {taken[path.resolve()]}")
        taken[path.resolve()] = what
    loaded = model if isinstance(model, LoadedModel) else load_model(
        resolve_model(model), device=resolve_device(options.device)
    )
    loaded.card.check_request(len(sources), uncertainty_path is not None, "give the others with --input",
                              options.uncertainty)
    if trust_mask_path is not None and record_of(loaded.card) is None:
        raise InputError(f"model '{loaded.card.name}' gives no trust mask: its card records no training inputs' "
                         "feature space (voxel-wise models, and models trained before the trust mask existed); "
                         "fine-tune or retrain it to get one")
    for position, path in enumerate(sources):
        declared = (input_contrast if position == 0 else None) or contrast_from_filename(str(path))
        check_contrast(loaded, declared, str(path), position)
    volumes = [read_volume(path) for path in sources]
    t1 = None if skull_strip_t1 is None else read_volume(skull_strip_t1)
    result = synthesize_volumes(volumes, loaded, options, progress, cancel, uncertainty_path is not None,
                                skull_strip, t1)
    outputs = {output_path: result.image}
    if uncertainty_path is not None:
        outputs[uncertainty_path] = result.uncertainty
    outputs = {path: volume.with_array(volume.array.astype(np.float32)) for path, volume in outputs.items()}
    if trust_mask_path is not None:
        outputs[extras["the trust mask"]] = result.untrusted
    if brain_mask_path is not None:
        outputs[extras["the brain mask"]] = result.brain
    write_volumes(outputs, overwrite=overwrite, inputs=inputs)
    return output_path, loaded, result


def synthesize_volumes(volumes: list[Volume], loaded: LoadedModel, options: InferenceOptions,
                       progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                       uncertainty: bool = False, skull_strip: bool = False, t1: Volume | None = None) -> Synthesis:
    """The synthesis every route runs (file to file, and Slicer's in-process route): with ``skull_strip``, the
    brain is extracted first (``medsynth.skull_strip``; with ``t1``, the subject's T1's mask), the model runs
    inside it only, and the synthetic volume keeps the input's full grid with background outside it."""
    from .device import resolve_device
    from .inference import synthesize_with_uncertainty

    if not skull_strip:
        return synthesize_with_uncertainty(volumes, loaded, options, progress, cancel, uncertainty=uncertainty)
    brain = brain_mask(volumes[0], loaded.card.source_contrast, t1, str(resolve_device(options.device)))
    for warning in brain.warnings:
        log.warning("%s", warning)
    result = synthesize_with_uncertainty(strip_all(volumes, brain.mask), loaded, options, progress, cancel,
                                         mask=brain.mask, uncertainty=uncertainty)
    result.image.array[~brain.mask] = loaded.card.background
    result.brain = volumes[0].with_array(brain.mask.astype(np.uint8))
    result.warnings[:0] = brain.warnings
    return result


@dataclass
class Evaluation:
    metrics: dict[str, dict[str, float]]
    reference: Volume  # on the synthetic grid, in the convention's intensities
    mask: np.ndarray
    mask_source: str
    convention: str = "raw"  # how both sides' intensities were put on one scale (medsynth.core.conventions)
    synthetic: Volume | None = None  # in the convention's intensities


def evaluate_volumes(
    synthetic: Volume,
    reference: Volume,
    mask: Volume | None = None,
    data_range: float | None = None,
    convention: str = "auto",
) -> Evaluation:
    """Metrics of ``synthetic`` against ``reference`` (resampled onto the synthetic grid if needed), both in
    the intensity ``convention`` (see ``medsynth.core.conventions``; ``auto``: raw unless the scales differ)."""
    return evaluate_conventions(synthetic, reference, mask, data_range, [convention])[convention]


def evaluate_conventions(
    synthetic: Volume,
    reference: Volume,
    mask: Volume | None = None,
    data_range: float | None = None,
    conventions=("own-scale", "calibrated"),
    planes: bool = True,
) -> dict[str, Evaluation]:
    """``evaluate_volumes`` under each of ``conventions``; the reference is resampled and the mask found once.
    ``planes``: also the metrics of each plane's slices (``metrics.compare``)."""
    if not reference.same_grid(synthetic):
        covered = field_of_view_overlap(synthetic, reference)
        if covered < MIN_OVERLAP:
            raise InputError(f"the reference covers {100 * covered:.0f}% of the synthetic volume's field of view; "
                             f"expected at least {100 * MIN_OVERLAP:.0f}%: are they the same subject, registered "
                             "(in Slicer: check their transforms)?")
        log.info("reference is on another grid: resampling it onto the synthetic volume's grid (linear)")
        reference = resample_to(reference, synthetic)
    if mask is not None:
        values = np.unique(mask.array)
        if values.size > 2:
            raise InputError(f"mask: holds {values.size} distinct values ({', '.join(f'{v:g}' for v in values[:4])}"
                             f"{', ...' if values.size > 4 else ''}); expected a binary mask (0 outside, 1 inside)")
        m = resample_to(mask, synthetic, "nearest").array > 0
        if not m.any():
            raise InputError("mask: has no foreground voxel on the synthetic volume's grid")
        mask_source = "given mask"
    else:
        m = foreground_mask(reference.array)
        mask_source = "foreground of the reference (automatic)"
        if not m.any():
            raise InputError("the reference has no foreground where the synthetic volume lies: the two do not "
                             "overlap (are they the same subject, registered? in Slicer: check their transforms)")
    evaluations = {}
    for convention in conventions:
        s, r, chosen = common_space(synthetic.array, reference.array, m, convention)
        shown_synthetic, shown_reference = synthetic.with_array(s), reference.with_array(r)
        evaluations[convention] = Evaluation(compare(shown_synthetic, shown_reference, m, data_range, planes),
                                             shown_reference, m, mask_source, chosen, shown_synthetic)
    return evaluations


MIN_OVERLAP = 0.5


def field_of_view_overlap(volume: Volume, other: Volume) -> float:
    """The fraction of ``volume``'s voxel centres that lie inside ``other``'s grid (in world coordinates)."""
    shape = np.array(volume.array.shape[::-1])  # (i, j, k)
    steps = [np.linspace(0, n - 1, min(int(n), 16)) for n in shape]
    grid = np.stack(np.meshgrid(*steps, indexing="ij"), axis=-1).reshape(-1, 3)
    world = volume.ijk_to_ras @ np.c_[grid, np.ones(len(grid))].T
    inside = np.linalg.inv(other.ijk_to_ras) @ world
    extent = np.array(other.array.shape[::-1])[:, None]
    within = np.all((inside[:3] >= -0.5) & (inside[:3] <= extent - 0.5), axis=0)
    return float(within.mean())


def metric_rows(metrics: dict[str, dict[str, float]]) -> tuple[list[str], list[list]]:
    """Table with one row per metric and columns for the masked and whole-image values."""
    header = ["metric", "mask", "whole"]
    rows = [[name, metrics["mask"][name], metrics["whole"][name]] for name in metrics["mask"]]
    return header, rows


def write_mosaic(path: Path, synthetic: Volume, evaluation: Evaluation | None = None,
                 source: Volume | None = None, title: str = "") -> Path:
    from .mosaic import difference_mosaic  # matplotlib

    return difference_mosaic(
        path, evaluation.synthetic if evaluation and evaluation.synthetic is not None else synthetic,
        reference=evaluation.reference if evaluation else None,
        source=None if source is None else resample_to(source, synthetic),
        mask=evaluation.mask if evaluation else None,
        title=title,
    )
