"""What a model was trained on, and warnings when an input lies far outside it.

The trainer records a summary of its training inputs in the card (``training["domain"]``): the foreground
volume in millilitres (a skull-stripped brain is about 1-1.8 L, a head with skull and scalp 3-5 L), the
voxel spacing range, and the input-intensity histogram inside the head (quantiles after the card's own
normalization, with a distance threshold taken from the spread of the training subjects themselves).
At synthesis an input outside these bounds gets a warning, never an error: the user may know better,
but must not be left to find out from the output.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from . import trust
from .core import intensity
from .volume import Volume

log = logging.getLogger(__name__)
QUANTILES = np.linspace(0.02, 0.98, 25)  # inside the head, after the card's source normalization
SKULL_STRIPPED_ML = 2200.0  # above this a foreground is a head with skull and scalp, not a brain
VOLUME_FACTOR = 1.6  # a foreground this much larger (or smaller, by 1/2) than any training one is flagged
SPACING_FACTOR = 0.5  # spacing off by more than half of the training range's ends
MIN_THRESHOLD = 0.05  # histogram distance (normalized units) below which no warning is given


def foreground_ml(volume: Volume, mask: np.ndarray) -> float:
    return float(mask.sum() * np.prod(volume.spacing) / 1000.0)


def histogram_quantiles(volume: Volume, mask: np.ndarray, normalization: dict[str, Any]) -> np.ndarray:
    fitted = intensity.fit(normalization, volume.array, mask)
    return np.quantile(intensity.apply(fitted, volume.array[mask]), QUANTILES)


def summarize(inputs: list[tuple[Volume, np.ndarray]], normalization: dict[str, Any]) -> dict[str, Any]:
    """The card's ``training["domain"]`` for training inputs ``[(source volume, head mask), ...]``."""
    volumes = [foreground_ml(v, m) for v, m in inputs]
    spacings = np.array([v.spacing for v, _ in inputs], dtype=float)
    quantiles = np.array([histogram_quantiles(v, m, normalization) for v, m in inputs])
    centre = quantiles.mean(axis=0)
    if len(quantiles) > 1:  # each subject's distance to the mean of the others: the training spread
        spread = [_distance(q, np.delete(quantiles, k, axis=0).mean(axis=0)) for k, q in enumerate(quantiles)]
    else:
        spread = [0.0]
    return {
        "foreground_ml": [round(min(volumes), 1), round(max(volumes), 1)],
        "skull_stripped": bool(max(volumes) < SKULL_STRIPPED_ML),
        "spacing_mm": [round(float(spacings.min()), 4), round(float(spacings.max()), 4)],
        "histogram_quantiles": [round(float(q), 5) for q in centre],
        "histogram_threshold": round(max(2.0 * max(spread), MIN_THRESHOLD), 5),
        trust.RECORD: trust.summarize(inputs, normalization),
    }


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two quantile functions: the 1-Wasserstein distance of the histograms."""
    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))


def domain_warnings(volume: Volume, mask: np.ndarray, card) -> list[str]:
    """Plain-language warnings for an input far outside what ``card``'s model was trained on (none when the
    card records no training domain, as for older models)."""
    domain = card.training.get("domain") if isinstance(card.training, dict) else None
    if not isinstance(domain, dict):
        return []
    try:
        return list(_warnings(volume, mask, card, domain))
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a hand-edited card: say so, keep going
        log.debug("model '%s': unreadable training domain (%s); no out-of-domain check", card.name, exc)
        return []


def _warnings(volume: Volume, mask: np.ndarray, card, domain: dict[str, Any]):
    name = card.name
    low, high = (float(v) for v in domain["foreground_ml"])
    size = foreground_ml(volume, mask)
    if domain.get("skull_stripped") and size > max(VOLUME_FACTOR * high, SKULL_STRIPPED_ML):
        yield (f"the input's foreground is {size:.0f} mL, but model '{name}' was trained on skull-stripped brains "
               f"({low:.0f}-{high:.0f} mL): this looks like a head with skull and scalp, which the model has never "
               "seen; skull-strip the input first (--skull-strip; in Slicer, 'Skull-strip the input') for a "
               "trustworthy result")
    elif size > VOLUME_FACTOR * high or size < 0.5 * low:
        yield (f"the input's foreground is {size:.0f} mL, far from the {low:.0f}-{high:.0f} mL the model '{name}' "
               "was trained on: check that the input shows the same anatomy and field of view")
    s_low, s_high = (float(v) for v in domain["spacing_mm"])
    spacing = [float(s) for s in volume.spacing]
    if max(spacing) > (1 + SPACING_FACTOR) * s_high or min(spacing) < (1 - SPACING_FACTOR) * s_low:
        shown = " x ".join(f"{s:.2g}" for s in spacing)
        yield (f"the input's voxels are {shown} mm, but model '{name}' was trained on {s_low:.2g}-{s_high:.2g} mm "
               "voxels: structures will have other sizes in pixels than it learned; resample the input to "
               "about the training spacing for a trustworthy result")
    reference = np.asarray(domain["histogram_quantiles"], dtype=float)
    if reference.shape != QUANTILES.shape:
        raise ValueError(f"{reference.size} histogram quantiles, expected {QUANTILES.size}")
    distance = _distance(histogram_quantiles(volume, mask, card.source_normalization), reference)
    threshold = float(domain["histogram_threshold"])
    if distance > threshold:
        yield (f"the input's {card.source_contrast} intensity histogram inside the head is {distance:.2f} away from "
               f"the training subjects' (they lie within {threshold:.2f} of each other): another protocol, a wrong "
               f"contrast or strong artefacts; check that the input is a {card.source_contrast} image like those "
               "the model was trained on")
