"""From an input volume and a model to a synthetic volume on exactly the input's grid."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from functools import partial

import numpy as np

from .. import trust
from ..checkpoint import LoadedModel
from ..core import intensity
from ..core.contrasts import canonical_contrast
from ..core.errors import InputError
from ..core.options import ALL_PLANES, ERROR_MODEL, InferenceOptions, Synthesis
from ..core.progress import CancelToken, ProgressCallback, Reporter
from ..device import resolve_device, resolve_precision
from ..domain import domain_warnings
from ..error_model import error_map
from ..flagging import uncertain_share
from ..io import check_volume
from ..mask import foreground_mask
from ..resample import in_plane_spacing, resample_to, resample_to_spacing
from ..volume import PLANES, Volume
from .engines import Pass, run_engine
from .perturb import CURVES_PER_PLANE, perturbed

log = logging.getLogger(__name__)


def check_contrast(loaded: LoadedModel, declared: str | None, name: str = "input", position: int = 0) -> None:
    """Refuse a model made for another contrast than the one declared for its input number ``position``."""
    if declared is None:
        return
    declared = canonical_contrast(declared)
    inputs = loaded.card.inputs
    expected = inputs[position] if position < len(inputs) else None
    if declared != expected:
        if len(inputs) == 1:
            raise InputError(
                f"{name}: is {declared}, but model '{loaded.card.name}' synthesizes {loaded.card.mapping} and "
                f"expects a {loaded.card.source_contrast} input; choose a model for {declared}->"
                f"{loaded.card.target_contrast} (see `medsynth models`)"
            )
        raise InputError(f"{name}: is {declared}, but model '{loaded.card.name}' ({loaded.card.mapping}) expects "
                         f"{', '.join(inputs)} in this order; input {position + 1} must be {expected}")


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
    volume: Volume | Sequence[Volume],
    loaded: LoadedModel,
    options: InferenceOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    mask: np.ndarray | None = None,
) -> Volume:
    """Synthesize ``loaded.card.target_contrast`` from ``volume``.

    The input is normalized per volume as the card says, run through the engine its card names
    (``engine``), and mapped back to the target's intensity scale. ``mask`` (default: the head found in the
    input) limits the work to the foreground. Raises ``Cancelled`` if ``cancel`` is set in between. A
    many-to-one model takes a list of co-registered volumes in the order of ``card.inputs``; the result is
    on the first one's grid (the others are resampled onto it if needed).
    """
    return synthesize_with_uncertainty(volume, loaded, options, progress, cancel, mask, uncertainty=False).image


def synthesize_with_uncertainty(
    volume: Volume | Sequence[Volume],
    loaded: LoadedModel,
    options: InferenceOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    mask: np.ndarray | None = None,
    uncertainty: bool = True,
) -> Synthesis:
    """:func:`synthesize`, and with ``uncertainty`` a map of where not to trust it, in the image's units, by
    ``options.uncertainty`` (``auto``: ``ModelCard.uncertainty_method``): ``"error-model"``, the error the card's
    regression expects from the input and the image (``medsynth.error_model``; no extra pass); or the standard
    deviation over a test-time ensemble, in each plane the model is run in (three for a multi-planar model):
    ``"flip"``, the input with and without a left-right flip (the image is the ensemble's mean), ``"intensity"``,
    the input as it is and through random monotone intensity curves (``perturb``; the image is the plain
    members' mean, as without uncertainty)."""
    options = options or InferenceOptions()
    card = loaded.card
    volumes = input_volumes(volume, card, uncertainty, options.uncertainty)
    method = card.uncertainty_method(options.uncertainty) if uncertainty else None
    if "spacing" in card.inference:
        moved = _at_training_spacing(volumes, loaded, options, progress, cancel, mask, uncertainty)
        if moved is not None:
            return moved
    volume = volumes[0]
    device = resolve_device(options.device)
    precision = resolve_precision(options.precision, device)
    fg = foreground_mask(volume.array) if mask is None else np.asarray(mask, dtype=bool)
    if fg.shape != volume.array.shape:
        raise InputError(f"mask shape {fg.shape} does not match the input volume {volume.array.shape}")
    if not fg.any():
        raise InputError("input: no foreground (head) found; expected a volume showing anatomy")
    normalized = [intensity.apply(intensity.fit(card.source_normalization, v.array, fg), v.array) for v in volumes]
    untrusted, unlike = trust.check(volume, normalized[0], fg, card)
    warnings = domain_warnings(volume, fg, card) + unlike
    for warning in warnings:
        log.warning("%s", warning)
    untrusted = None if untrusted is None else volume.with_array(untrusted.astype(np.uint8))
    x = normalized[0] if len(normalized) == 1 else np.stack(normalized)
    background = intensity.apply_value(card.target_intensity, card.background)
    work_mask = fg if options.skip_background else None
    model = loaded.model.to(device).eval()
    planes = _planes(card, options)
    lr = volume.slice_axis("sagittal")
    lr_x = lr + x.ndim - 3  # the same axis in the (possibly stacked) input array
    members = _members(planes, None if method == ERROR_MODEL else method)
    outputs, plain = [], []
    for number, (plane, flip, curve) in enumerate(members):
        reporter = partial(_MemberReporter, progress=progress, cancel=cancel, member=number, members=len(members),
                           what=f"{card.mapping} {card.engine}")
        varied = x if curve is None else perturbed(x, curve)
        flipped = np.flip(varied, lr_x) if flip else varied
        flipped_mask = None if work_mask is None else (np.flip(work_mask, lr) if flip else work_mask)
        y = _run(model, card, volume, flipped, plane, background, flipped_mask, reporter, options, device, precision)
        outputs.append(np.flip(y, lr) if flip else y)
        if curve is None:
            plain.append(outputs[-1])
    # the image: the mean of the members that saw the input as it is (all of them for the flip ensemble)
    y = plain[0] if len(plain) == 1 else np.mean(plain, axis=0, dtype=np.float32)
    if card.inference.get("outside") == "background":
        y[~fg] = background
    quantiles = card.inference.get("output_quantiles")
    if quantiles and options.calibrate:
        y[fg] = calibrate_output(y[fg], np.asarray(quantiles, dtype=np.float64))
    image = volume.with_array(intensity.invert(card.target_intensity, y))
    if not uncertainty:
        return Synthesis(image, warnings=warnings, untrusted=untrusted)
    if method == ERROR_MODEL:
        coefficients = card.uncertainty_calibration(method)["coefficients"]
        sd = error_map(coefficients, [v.array for v in volumes], image.array, fg, volume.spacing)
    else:
        spread = np.std(outputs, axis=0, dtype=np.float32)
        spread[~fg] = 0.0
        zero = intensity.invert(card.target_intensity, np.zeros(1, np.float32))[0]
        sd = np.abs(intensity.invert(card.target_intensity, spread) - zero).astype(np.float32)  # linear scales
    share = uncertain_share(image.array, sd, fg, card, method)
    return Synthesis(image, volume.with_array(sd), warnings, untrusted, uncertain_share=share)


def _at_training_spacing(volumes: list[Volume], loaded: LoadedModel, options: InferenceOptions, progress, cancel,
                         mask: np.ndarray | None, uncertainty: bool) -> Synthesis | None:
    """A model trained at one voxel size (unpaired models: ``inference.spacing``) run on the inputs resampled
    to it, the results resampled back onto the input's grid; None when the input already has that size."""
    card = loaded.card
    plane = card.inference.get("plane", "axial")
    voxel = in_plane_spacing(volumes[0], None if plane == ALL_PLANES else plane, float(card.inference["spacing"]))
    if np.allclose(volumes[0].spacing, voxel, rtol=0.05):
        return None
    log.info("resampling the input from %s mm to the model's %s mm voxels", np.round(volumes[0].spacing, 3), voxel)
    inner = LoadedModel(loaded.model, dataclasses.replace(
        card, inference={k: v for k, v in card.inference.items() if k != "spacing"}))
    moved = [resample_to_spacing(v, voxel) for v in volumes]
    if mask is not None:
        mask = resample_to(volumes[0].with_array(np.asarray(mask, dtype=np.float32)), moved[0], "nearest").array > 0.5
    result = synthesize_with_uncertainty(moved, inner, options, progress, cancel, mask, uncertainty)
    image = resample_to(result.image, volumes[0], default_value=card.background)
    spread = None if result.uncertainty is None else resample_to(result.uncertainty, volumes[0])
    untrusted = None if result.untrusted is None else resample_to(result.untrusted, volumes[0], "nearest")
    return Synthesis(image, spread, result.warnings, untrusted, uncertain_share=result.uncertain_share)


def input_volumes(volume: Volume | Sequence[Volume], card, uncertainty: bool = False,
                  method: str = "auto") -> list[Volume]:
    """The model's input volumes, checked (with the request: ``ModelCard.check_request``), the later ones on
    the first one's grid."""
    volumes = [volume] if isinstance(volume, Volume) else list(volume)
    card.check_request(len(volumes), uncertainty, method=method)
    for number, (item, contrast) in enumerate(zip(volumes, card.inputs, strict=True)):
        check_volume(item, "input" if len(volumes) == 1 else f"input {number + 1} ({contrast})")
    first = volumes[0]
    for number, item in enumerate(volumes[1:], 1):
        if not item.same_grid(first):
            log.warning("input %d (%s) is on another grid than input 1 (%s): resampled onto it (linear); register "
                        "the inputs first (`medsynth prepare`) if they are not aligned in the world",
                        number + 1, card.inputs[number], card.inputs[0])
            volumes[number] = resample_to(item, first)
    return volumes


def _members(planes: list[str | None], method: str | None) -> list[tuple[str | None, bool, int | None]]:
    """``(plane, flip, curve seed)`` of each run: one per plane without uncertainty; with the ``flip`` method,
    each plane with and without a left-right flip; with ``intensity``, each plane as it is and through
    ``CURVES_PER_PLANE`` monotone intensity curves."""
    if method is None:
        return [(plane, False, None) for plane in planes]
    if method == "flip":
        return [(plane, flip, None) for plane in planes for flip in (False, True)]
    return [(plane, False, curve) for number, plane in enumerate(planes)
            for curve in (None, *(1 + number * CURVES_PER_PLANE + k for k in range(CURVES_PER_PLANE)))]


def _planes(card, options: InferenceOptions) -> list[str | None]:
    """The planes a 2D model runs in: the user's, else the card's; "all" means the three, fused."""
    if card.engine != "slicewise":
        return [None]
    plane = card.inference.get("plane", "axial") if options.axis == "auto" else options.axis
    return list(PLANES) if plane == ALL_PLANES else [plane]


def _run(model, card, volume: Volume, x: np.ndarray, plane: str | None, background: float,
         work_mask: np.ndarray | None, reporter, options: InferenceOptions, device, precision: str) -> np.ndarray:
    """One pass of the card's engine over the normalized array ``x``."""
    settings = Pass(background, work_mask, reporter, batch_size=options.batch_size, margin=options.margin,
                    device=device, precision=precision)
    if card.engine == "slicewise":
        settings.axis, settings.context = volume.slice_axis(plane), int(card.inference.get("context", 0))
        log.info("slice-wise %s along array axis %d (%s plane)", card.mapping, settings.axis, plane)
    elif card.engine == "patchwise":
        settings.patch_size, settings.stride, settings.blend = patch_settings(options, card.inference)
        log.info("patch-wise %s: patch %s, stride %s, %s blending", card.mapping, settings.patch_size,
                 settings.stride, settings.blend)
    return run_engine(card.engine, model, x, settings)


def calibrate_output(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """``values`` mapped monotonically so that their histogram follows ``quantiles`` (evenly spaced
    probabilities): each value goes to the training targets' intensity at its own quantile."""
    q = np.linspace(0.0, 1.0, len(quantiles))
    own = np.quantile(values, q)
    own = own + np.arange(len(own)) * 1e-9 * max(float(own[-1] - own[0]), 1.0)  # strictly increasing for interp
    return np.interp(values, own, quantiles).astype(np.float32)


class _MemberReporter(Reporter):
    """Progress of one ensemble member, reported as a share of the whole ensemble's work."""

    def __init__(self, total: int, progress: ProgressCallback | None, cancel: CancelToken | None, what: str,
                 member: int = 0, members: int = 1) -> None:
        self.member, self.members = member, members
        super().__init__(total, progress, cancel, what)

    def report(self) -> None:
        self.progress(self.member * self.total + self.done, self.members * self.total, self.what)
