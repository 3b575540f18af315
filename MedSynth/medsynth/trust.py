"""Where the input holds tissue the model never learned to map: the "not trustworthy" mask.

A synthesis network fills tissue it has not seen with something that looks normal (oedema drawn as white
matter), and nothing in its output says so. This check needs no network: each voxel inside the head is
described by its normalized input intensity and the mean intensity of its neighbourhood at two scales
(``SCALES_MM``: a lesion is a region of unusual intensity, noise is not), and the trainer records which
cells of that feature space its training inputs filled (``summarize``, stored in the card's training
domain). A voxel of a new input whose cell the training subjects left empty, or nearly so, is not
trustworthy; connected regions smaller than ``MIN_REGION_ML`` are dropped (noise and partial volume at
edges, not tissue).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy import ndimage

from .asymmetry import LESION_SIGN, asymmetric_mask
from .core import intensity
from .mask import drop_small, gaussian_box, mean_inside
from .volume import Volume

SCALES_MM = (2.0, 6.0)  # neighbourhood means (Gaussian sigma) next to the voxel's own intensity
BINS = 16  # per feature: 16^3 cells
RANGE_QUANTILES = (0.001, 0.999)  # each feature's range: the training voxels', robust to a few outliers
RANGE_MARGIN = 0.1  # of the range, added on each side
COVERAGE = 0.999  # the known cells hold this share of the training voxels (the rarest 0.1% are not known)
SMOOTHING_BINS = 1.5  # the training histogram is smoothed before its rarest cells are cut: few subjects
MIN_REGION_ML = 0.2  # smaller untrusted regions are dropped
MAX_FEATURE_VOXELS = 1 << 20  # per training subject: voxels drawn for the histogram (enough for 4096 cells)
WARN_ML = 1.0  # an untrusted region this large gets a warning
RECORD = "voxels"  # the record's key in the card's training domain

log = logging.getLogger(__name__)


def features(volume: Volume, normalized: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[voxel, feature]`` for the voxels of ``mask``: the normalized intensity and its neighbourhood means
    (``SCALES_MM``, inside the mask only, so the background does not darken the edges)."""
    spacing = np.asarray(volume.spacing, dtype=float)[::-1]  # array axes are [k, j, i]
    box = gaussian_box(mask, max(SCALES_MM), volume.spacing)
    inner = mask[box]
    columns = [normalized[mask]]
    for scale in SCALES_MM:
        columns.append(mean_inside(normalized[box], inner, scale / spacing)[inner])
    return np.stack(columns, axis=1).astype(np.float32)


def summarize(inputs: list[tuple[Volume, np.ndarray]], normalization: dict[str, Any],
              coverage: float = COVERAGE, seed: int = 0) -> dict[str, Any]:
    """The card's record of the training inputs' feature space, for ``[(source volume, head mask), ...]``:
    each feature's range, and the known cells as a bitmap (hex), every subject weighted equally."""
    rng = np.random.default_rng(seed)
    per_subject = []
    for volume, mask in inputs:
        fitted = intensity.fit(normalization, volume.array, mask)
        found = features(volume, intensity.apply(fitted, volume.array), mask)
        if len(found) > MAX_FEATURE_VOXELS:
            found = found[rng.choice(len(found), MAX_FEATURE_VOXELS, replace=False)]
        per_subject.append(found)
    pooled = np.concatenate(per_subject)
    low, high = np.quantile(pooled, RANGE_QUANTILES, axis=0)
    span = np.maximum(high - low, 1e-6)
    low, high = low - RANGE_MARGIN * span, high + RANGE_MARGIN * span  # the rarest training voxels' cells too
    counts = np.zeros((BINS,) * pooled.shape[1])
    for found in per_subject:
        cells = _cells(found, low, high, BINS)
        inside = (cells >= 0).all(axis=1)
        counts += np.bincount(np.ravel_multi_index(cells[inside].T, counts.shape),
                              minlength=counts.size).reshape(counts.shape) / len(found)
    share = counts / counts.sum()
    density = ndimage.gaussian_filter(share, SMOOTHING_BINS, mode="constant")
    order = np.argsort(density, axis=None)  # rarest first
    rare = np.cumsum(share.ravel()[order]) <= 1.0 - coverage
    known = np.ones(share.size, dtype=bool)
    known[order[rare]] = False
    known &= density.ravel() > 0
    return {"scales_mm": list(SCALES_MM), "bins": BINS,
            "low": [round(float(v), 5) for v in low], "high": [round(float(v), 5) for v in high],
            "coverage": coverage, "known": np.packbits(known).tobytes().hex()}


def _cells(found: np.ndarray, low: np.ndarray, high: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Each voxel's cell index per feature; -1 outside the recorded range."""
    cells = np.floor((found - low) / (high - low) * bins).astype(np.int64)
    cells[(cells < 0) | (cells >= bins)] = -1
    return cells


def untrusted_mask(volume: Volume, normalized: np.ndarray, mask: np.ndarray, record: dict[str, Any],
                   min_region_ml: float = MIN_REGION_ML) -> np.ndarray:
    """Voxels of ``mask`` whose input (``normalized`` with the card's normalization) falls in a cell of
    ``record`` (:func:`summarize`) that the training inputs left empty, in regions of ``min_region_ml`` or
    more."""
    bins = int(record["bins"])
    if tuple(record["scales_mm"]) != SCALES_MM:
        raise ValueError(f"the card's trust record uses scales {record['scales_mm']}, this version {SCALES_MM}")
    known = np.unpackbits(np.frombuffer(bytes.fromhex(record["known"]), dtype=np.uint8))[: bins ** 3].astype(bool)
    cells = _cells(features(volume, normalized, mask), np.asarray(record["low"]), np.asarray(record["high"]), bins)
    outside = (cells < 0).any(axis=1)
    flat = np.ravel_multi_index(np.where(outside[:, None], 0, cells).T, (bins,) * cells.shape[1])
    novel = np.zeros(mask.shape, dtype=bool)
    novel[mask] = outside | ~known[flat]
    return drop_small(novel, min_region_ml / (float(np.prod(volume.spacing)) / 1000.0))


def record_of(card) -> dict[str, Any] | None:
    """The card's record of its training inputs' feature space (None for models trained before it existed,
    and for voxel-wise baselines)."""
    domain = card.training.get("domain") if isinstance(card.training, dict) else None
    record = domain.get(RECORD) if isinstance(domain, dict) else None
    return record if isinstance(record, dict) else None


def check(volume: Volume, normalized: np.ndarray, mask: np.ndarray, card) -> tuple[np.ndarray | None, list[str]]:
    """The untrusted mask of an input (None when ``card`` has no record): tissue unlike any in the training
    inputs, and tissue that differs from the other hemisphere the way lesions do in the input's contrast
    (``medsynth.asymmetry``); and for each signal that marks ``WARN_ML`` or more, the warning that says how
    much."""
    record = record_of(card)
    if record is None:
        return None, []
    try:
        novel = untrusted_mask(volume, normalized, mask, record)
    except (KeyError, TypeError, ValueError) as exc:  # a hand-edited card: say so, keep going
        log.warning("model '%s': unreadable trust record (%s); no trust mask", card.name, exc)
        return None, []
    contrast = card.source_contrast
    try:
        asymmetric = asymmetric_mask(volume, mask, contrast)
    except RuntimeError as exc:  # SimpleITK could not register the mirror image (a degenerate head): say so
        log.warning("the asymmetry check could not mirror the input (%s); the trust mask shows novel tissue only",
                    str(exc).splitlines()[0])
        asymmetric = None
    warnings = []
    if _millilitres(novel, volume) >= WARN_ML:
        warnings.append(f"{_size(novel, mask, volume)} holds {contrast} tissue unlike any in the training inputs of "
                        f"model '{card.name}': its synthetic intensities there are guesses, not measurements (the "
                        "trust mask shows where)")
    if asymmetric is not None and _millilitres(asymmetric, volume) >= WARN_ML:
        way = "darker" if LESION_SIGN[contrast] < 0 else "brighter"
        warnings.append(f"{_size(asymmetric, mask, volume)} is {way} than the same place in the other hemisphere, as "
                        f"lesions are on {contrast}: model '{card.name}' may draw normal-looking tissue there (the "
                        "trust mask shows where)")
    return (novel if asymmetric is None else novel | asymmetric), warnings


def _millilitres(found: np.ndarray, volume: Volume) -> float:
    return float(found.sum() * np.prod(volume.spacing) / 1000.0)


def _size(found: np.ndarray, mask: np.ndarray, volume: Volume) -> str:
    share = found.sum() / max(int(mask.sum()), 1)
    return f"{_millilitres(found, volume):.1f} mL of the input ({share:.1%} of the head)"
