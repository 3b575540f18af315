"""From an input volume and a model to a synthetic volume on exactly the input's grid."""

from __future__ import annotations

import logging
from functools import partial

import numpy as np

from .. import intensity
from ..checkpoint import LoadedModel
from ..contrasts import canonical_contrast
from ..device import resolve_device, resolve_precision
from ..errors import InputError
from ..io import check_volume
from ..mask import foreground_mask
from ..progress import CancelToken, ProgressCallback, Reporter
from ..volume import Volume
from .options import InferenceOptions
from .patchwise import run_patchwise
from .slicewise import run_slicewise
from .voxelwise import run_voxelwise

log = logging.getLogger(__name__)


def check_contrast(loaded: LoadedModel, declared: str | None, name: str = "input") -> None:
    """Refuse a model made for another source contrast than the one declared for the input."""
    if declared is None:
        return
    declared = canonical_contrast(declared)
    if declared != loaded.card.source_contrast:
        raise InputError(
            f"{name}: is {declared}, but model '{loaded.card.name}' synthesizes {loaded.card.mapping} and "
            f"expects a {loaded.card.source_contrast} input; choose a model for {declared}->"
            f"{loaded.card.target_contrast} (see `medsynth models`)"
        )


def patch_settings(options: InferenceOptions, card_settings: dict) -> tuple:
    """Patch size, stride and blending: the user's where given, else the card's, else 32 / 16 / gaussian.

    A stride of ``"full"`` (the card's choice for most 3D models) means one pass over the whole volume;
    a patch size given by the user without a stride then gets half its size as stride.
    """
    patch = options.patch_size or card_settings.get("patch_size", 32)
    stride = options.stride or card_settings.get("stride", 16)
    if stride == "full" and options.patch_size not in (None, "full"):
        stride = max(int(options.patch_size) // 2, 1)
    return patch, stride, options.blend or card_settings.get("blend", "gaussian")


def synthesize(
    volume: Volume,
    loaded: LoadedModel,
    options: InferenceOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    mask: np.ndarray | None = None,
) -> Volume:
    """Synthesize ``loaded.card.target_contrast`` from ``volume``.

    The input is normalized per volume as the card says, run through the engine its ``spatial_dims``
    selects, and mapped back to the target's intensity scale. ``mask`` (default: the head found in the
    input) limits the work to the foreground. Raises ``Cancelled`` if ``cancel`` is set in between.
    """
    options = options or InferenceOptions()
    card = loaded.card
    check_volume(volume, "input")
    device = resolve_device(options.device)
    precision = resolve_precision(options.precision, device)
    fg = foreground_mask(volume.array) if mask is None else np.asarray(mask, dtype=bool)
    if fg.shape != volume.array.shape:
        raise InputError(f"mask shape {fg.shape} does not match the input volume {volume.array.shape}")
    if not fg.any():
        raise InputError("input: no foreground (head) found; expected a volume showing anatomy")
    source_norm = intensity.fit(card.source_normalization, volume.array, fg)
    x = intensity.apply(source_norm, volume.array)
    background = intensity.apply_value(card.target_intensity, card.background)
    work_mask = fg if options.skip_background else None
    reporter = partial(Reporter, progress=progress, cancel=cancel, what=f"{card.mapping} {card.engine}")
    model = loaded.model.to(device).eval()
    if card.spatial_dims == 0:
        y = run_voxelwise(model, x, background, work_mask, reporter)
    elif card.spatial_dims == 2:
        plane = card.inference.get("plane", "axial") if options.axis == "auto" else options.axis
        axis = volume.slice_axis(plane)
        log.info("slice-wise %s along array axis %d (%s plane)", card.mapping, axis, plane)
        y = run_slicewise(
            model, x, axis, background, work_mask, reporter,
            batch_size=options.batch_size, context=int(card.inference.get("context", 0)),
            margin=options.margin, device=device, precision=precision,
        )
    else:
        patch, stride, blend = patch_settings(options, card.inference)
        log.info("patch-wise %s: patch %s, stride %s, %s blending", card.mapping, patch, stride, blend)
        y = run_patchwise(
            model, x, background, work_mask, reporter, patch_size=patch, stride=stride, blend=blend,
            batch_size=options.batch_size, margin=options.margin, device=device, precision=precision,
        )
    return volume.with_array(intensity.invert(card.target_intensity, y))
