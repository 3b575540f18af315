"""Inference engines with small real conv nets: geometry, skipping, 2.5D, precision, cancel, patches."""

import logging

import numpy as np
import pytest
import torch
from medsynth.core.errors import Cancelled, ConfigError, InputError
from medsynth.core.progress import CancelToken
from medsynth.device import resolve_device, resolve_precision
from medsynth.inference import InferenceOptions, check_contrast, synthesize, synthesize_with_uncertainty
from medsynth.inference.engine import patch_settings
from medsynth.inference.patchwise import count_windows
from medsynth.mask import bounding_box, foreground_mask
from medsynth.volume import PLANES, Volume

CPU = {"device": "cpu", "precision": "fp32"}  # exact comparisons: auto would be bf16 on CPUs that have it


def test_grid_preserved_and_output_is_not_the_input(subject, tiny):
    t1 = subject.images["T1"]
    out = synthesize(t1, tiny(2), InferenceOptions(**CPU))
    assert out.same_grid(t1) and out.array.dtype == np.float32
    assert np.corrcoef(out.array.ravel(), t1.array.ravel())[0, 1] < 0.999


@pytest.mark.parametrize("dims", [2, 3])
def test_skipping_background_leaves_foreground_unchanged(subject, tiny, dims):
    t1 = subject.images["T1"]
    model = tiny(dims, patch_size=16, stride=8)
    fg = foreground_mask(t1.array)
    full = synthesize(t1, model, InferenceOptions(skip_background=False, **CPU))
    skipped = synthesize(t1, model, InferenceOptions(skip_background=True, **CPU))
    np.testing.assert_allclose(skipped.array[fg], full.array[fg], rtol=1e-5, atol=1e-3)
    if dims == 2:  # outside the in-plane foreground box grown by the margin nothing is computed
        box = bounding_box(fg, 8)
        far = np.ones(fg.shape, bool)
        index = [slice(None)] * 3
        for a in (a for a in range(3) if a != t1.slice_axis("axial")):
            index[a] = box[a]
        far[tuple(index)] = False
        assert np.all(skipped.array[far] == 0.0) and not np.all(full.array[far] == 0.0)


def test_size_divisor_padding_does_not_change_results(subject, tiny):
    t1 = subject.images["T1"]
    plain, padded = tiny(2), tiny(2)
    padded.model.size_divisor = 16  # engine must grow/pad the crop to multiples of 16, then crop back
    fg = foreground_mask(t1.array)
    a = synthesize(t1, plain, InferenceOptions(**CPU)).array
    b = synthesize(t1, padded, InferenceOptions(**CPU)).array
    np.testing.assert_allclose(a[fg], b[fg], atol=1e-4)


def test_batch_size_and_repeat_runs_give_identical_output(subject, tiny):
    t1 = subject.images["T1"]
    model = tiny(2)
    a = synthesize(t1, model, InferenceOptions(batch_size=1, **CPU)).array
    b = synthesize(t1, model, InferenceOptions(batch_size=7, **CPU)).array
    c = synthesize(t1, model, InferenceOptions(batch_size=7, **CPU)).array
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)  # other conv batch shapes: float32 rounding only
    np.testing.assert_array_equal(b, c)


def test_axis_is_chosen_from_geometry_not_array_order(subject, tiny):
    """The same anatomy stored in another array order gives the same synthetic image."""
    t1 = subject.images["T1"]
    model = tiny(2, plane="axial")
    direct = synthesize(t1, model, InferenceOptions(**CPU))
    # permute the array axes (k, j, i) -> (j, i, k) and fix the matrix so every voxel keeps its position
    permuted_array = np.ascontiguousarray(t1.array.transpose(1, 2, 0))  # new i = old k, j = old i, k = old j
    m = t1.ijk_to_ras.copy()
    m[:, :3] = t1.ijk_to_ras[:, [2, 0, 1]]
    permuted = Volume(permuted_array, m)
    assert permuted.slice_axis("axial") != t1.slice_axis("axial")
    out = synthesize(permuted, model, InferenceOptions(**CPU))
    np.testing.assert_allclose(out.array.transpose(2, 0, 1), direct.array, atol=1e-4)


def test_context_slices_become_channels(subject, tiny):
    t1 = subject.images["T1"]
    model = tiny(2, in_channels=3, context=1)
    out = synthesize(t1, model, InferenceOptions(**CPU))
    assert out.same_grid(t1)
    # changing only the neighbouring slice changes the output of a slice: the context is really used
    axis = t1.slice_axis("axial")
    changed = t1.array.copy()
    k = t1.array.shape[axis] // 2
    index = [slice(None)] * 3
    index[axis] = k + 1
    changed[tuple(index)] *= 1.5
    out2 = synthesize(t1.with_array(changed), model, InferenceOptions(**CPU))
    index[axis] = k
    assert not np.allclose(out.array[tuple(index)], out2.array[tuple(index)])


def test_bf16_is_close_to_fp32(subject, tiny):
    """Stated tolerance: bf16 autocast stays within 2% of the output range in mean absolute error."""
    t1 = subject.images["T1"]
    model = tiny(2)
    fp32 = synthesize(t1, model, InferenceOptions(**CPU)).array
    bf16 = synthesize(t1, model, InferenceOptions(**{**CPU, "precision": "bf16"})).array
    fg = foreground_mask(t1.array)
    span = np.ptp(fp32[fg])
    assert np.abs(bf16[fg] - fp32[fg]).mean() < 0.02 * span
    assert not np.array_equal(bf16, fp32)  # it really ran in reduced precision


@pytest.mark.parametrize("dims", [2, 3])
def test_cancel_stops_between_batches(subject, tiny, dims):
    token = CancelToken()
    calls = []

    def progress(done, total, message):
        calls.append((done, total))
        token.cancel()

    with pytest.raises(Cancelled):
        synthesize(subject.images["T1"], tiny(dims, patch_size=16, stride=8),
                   InferenceOptions(batch_size=2, **CPU), progress=progress, cancel=token)
    assert len(calls) == 1 and calls[0][0] < calls[0][1]


def test_progress_reaches_total(subject, tiny):
    seen = []
    synthesize(subject.images["T1"], tiny(2), InferenceOptions(batch_size=4, **CPU),
               progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_patch_mode_stride_blend_and_single_pass(subject, tiny):
    t1 = subject.images["T1"]
    model = tiny(3)
    fg = foreground_mask(t1.array)
    outputs = {}
    for name, options in {
        "stride8": InferenceOptions(patch_size=16, stride=8, **CPU),
        "stride16_mean": InferenceOptions(patch_size=16, stride=16, blend="mean", **CPU),
        "full": InferenceOptions(patch_size="full", **CPU),
    }.items():
        out = synthesize(t1, model, options)
        assert out.same_grid(t1)
        outputs[name] = out.array
    # a 2-layer 3x3x3 net sees 2 voxels around: only patch borders differ from the single pass, and
    # overlapping gaussian-blended patches (stride 8) hide them better than tiled ones (stride 16)
    err = {n: np.abs(outputs[n][fg] - outputs["full"][fg]).mean() for n in ("stride8", "stride16_mean")}
    assert err["stride8"] < err["stride16_mean"] < 0.05 * np.ptp(outputs["full"][fg])
    assert count_windows((32, 32, 32), (32, 32, 32), (8, 8, 8)) == 1
    assert count_windows((64, 32, 40), (32, 32, 32), (8, 8, 8)) == 5 * 1 * 2
    # stride "full" is the single pass too
    np.testing.assert_array_equal(synthesize(t1, model, InferenceOptions(stride="full", **CPU)).array,
                                  outputs["full"])


def test_patch_settings_come_from_the_user_then_the_card():
    card = {"patch_size": 32, "stride": "full", "blend": "mean"}
    assert patch_settings(InferenceOptions(), card) == (32, "full", "mean")  # the card's single pass
    assert patch_settings(InferenceOptions(stride=8, blend="gaussian"), card) == (32, 8, "gaussian")
    assert patch_settings(InferenceOptions(patch_size=24), card) == (24, 12, "mean")  # a window needs a stride
    assert patch_settings(InferenceOptions(), {}) == (32, 16, "gaussian")  # cards without settings


def test_contrast_check(tiny):
    model = tiny(2)
    check_contrast(model, "t1w")  # alias of T1: fine
    check_contrast(model, None)  # undeclared: nothing to check
    with pytest.raises(InputError, match="is T2, but model 'tiny' synthesizes T1->T2 and expects a T1 input"):
        check_contrast(model, "T2")


def test_volume_without_foreground_is_rejected(tiny):
    vol = Volume.from_geometry(np.zeros((20, 20, 20), np.float32))
    vol.array[0, 0, 0] = 1.0
    with pytest.raises(InputError, match="no foreground"):
        synthesize(vol, tiny(2), InferenceOptions(**CPU), mask=np.zeros((20, 20, 20), bool))


def test_device_fallback_and_validation(caplog):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with caplog.at_level(logging.WARNING):
            assert resolve_device("cuda") == torch.device("cpu")
        assert "CUDA is not available" in caplog.text
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="unknown precision"):
        resolve_precision("int8", torch.device("cpu"))
    with pytest.raises(ConfigError, match="axis must be"):
        InferenceOptions(axis="oblique")


def test_all_planes_fuse_three_slice_directions(subject, tiny):
    t1 = subject.images["T1"]
    loaded = tiny()
    per_plane = [synthesize(t1, loaded, InferenceOptions(axis=plane, **CPU)).array for plane in PLANES]
    fused = synthesize(t1, loaded, InferenceOptions(axis="all", **CPU))
    np.testing.assert_allclose(fused.array, np.mean(per_plane, axis=0), rtol=1e-5, atol=1e-3)
    trained_on_all = tiny(plane="all")  # a multi-planar model fuses by default
    np.testing.assert_allclose(synthesize(t1, trained_on_all, InferenceOptions(**CPU)).array, fused.array, atol=1e-3)
    with pytest.raises(ConfigError, match="axis must be auto, all or one of"):
        InferenceOptions(axis="oblique")


def test_uncertainty_is_the_spread_of_the_test_time_ensemble(subject, tiny):
    t1 = subject.images["T1"]
    loaded = tiny()
    done = []
    result = synthesize_with_uncertainty(t1, loaded, InferenceOptions(uncertainty="flip", **CPU),
                                         progress=lambda d, t, w: done.append((d, t)))
    assert result.uncertainty.same_grid(t1)
    assert done[-1][0] == done[-1][1]  # one progress bar over both members
    assert {t for _, t in done} == {done[-1][1]}
    fg = foreground_mask(t1.array)
    plain = synthesize(t1, loaded, InferenceOptions(**CPU)).array
    assert (result.uncertainty.array[~fg] == 0).all() and result.uncertainty.array[fg].max() > 0
    # two members (with and without a left-right flip): the SD is half their difference, in T2 units
    mirrored = 2 * result.image.array - plain
    np.testing.assert_allclose(result.uncertainty.array[fg], np.abs(plain - mirrored)[fg] / 2, rtol=1e-3, atol=0.05)
    multi = synthesize_with_uncertainty(t1, tiny(plane="all"), InferenceOptions(uncertainty="flip", **CPU))
    assert multi.uncertainty.array[fg].mean() > 0  # six members
    baseline = tiny_baseline()
    with pytest.raises(InputError, match="test-time ensemble cannot disagree"):
        synthesize_with_uncertainty(t1, baseline, InferenceOptions(**CPU))


def test_intensity_uncertainty_varies_the_inputs_transfer_function_and_keeps_the_plain_image(subject, tiny):
    from medsynth.inference.perturb import perturbed

    t1 = subject.images["T1"]
    loaded = tiny(plane="all")
    options = InferenceOptions(uncertainty="intensity", **CPU)
    done = []
    result = synthesize_with_uncertainty(t1, loaded, options, progress=lambda d, t, w: done.append((d, t)))
    assert done[-1] == (done[-1][1], done[-1][1]) and done[-1][1] % 9 == 0  # 3 planes x (as is + 2 curves)
    plain = synthesize(t1, loaded, InferenceOptions(**CPU)).array
    np.testing.assert_array_equal(result.image.array, plain)  # the image is the plain synthesis
    fg = foreground_mask(t1.array)
    assert (result.uncertainty.array[~fg] == 0).all() and result.uncertainty.array[fg].mean() > 0
    again = synthesize_with_uncertainty(t1, loaded, options)
    np.testing.assert_array_equal(again.uncertainty.array, result.uncertainty.array)  # fixed seeds
    x = np.linspace(-1, 2, 1000, dtype=np.float32).reshape(10, 10, 10)
    curved = perturbed(x, 3)
    assert (np.diff(curved.ravel()) >= 0).all() and curved.min() == x.min() and curved.max() == pytest.approx(2)
    assert not np.allclose(curved, x)  # monotone, same range, another contrast between tissues
    with pytest.raises(ConfigError, match="uncertainty method must be one of auto, error-model, intensity, flip"):
        InferenceOptions(uncertainty="dropout")


def test_the_error_model_maps_the_plain_synthesis_expected_error_without_an_ensemble(subject, tiny):
    from medsynth.core.conventions import robust_range
    from medsynth.error_model import error_map

    t1 = subject.images["T1"]
    entry = {"method": "error-model", "scale": 1.2, "threshold": 0.1, "measured": "test",
             "coefficients": [-2.0, -1.0, 0.0, 2.0, 0.0, 0.0, 0.0]}
    loaded = tiny(plane="all", uncertainty_calibration=[entry])
    done = []
    result = synthesize_with_uncertainty(t1, loaded, InferenceOptions(**CPU),  # auto: the card's error model
                                         progress=lambda d, t, w: done.append((d, t)))
    plain = synthesize(t1, loaded, InferenceOptions(**CPU)).array
    assert done[-1][1] % 3 == 0 and done[-1][1] % 9 != 0  # one pass per plane, no ensemble
    np.testing.assert_array_equal(result.image.array, plain)
    fg = foreground_mask(t1.array)
    expected = error_map(entry["coefficients"], [t1.array], plain, fg, t1.spacing)
    np.testing.assert_allclose(result.uncertainty.array, expected, rtol=1e-5)
    assert (result.uncertainty.array[~fg] == 0).all() and result.uncertainty.array[fg].min() > 0
    lo, hi = robust_range(plain, fg)  # the share: expected error (scale x map, own scale) above the threshold
    assert result.uncertain_share == pytest.approx(np.mean(1.2 * expected[fg] / (hi - lo) > 0.1))
    assert 0.05 < result.uncertain_share < 0.95
    ensemble = synthesize_with_uncertainty(t1, loaded, InferenceOptions(uncertainty="intensity", **CPU))
    assert ensemble.uncertain_share is None  # the card calibrates the error model only
    with pytest.raises(InputError, match="has no error model in its card"):
        synthesize_with_uncertainty(t1, tiny(), InferenceOptions(uncertainty="error-model", **CPU))


def test_outside_background_and_output_calibration_from_the_card(subject, tiny):
    t1 = subject.images["T1"]
    fg = foreground_mask(t1.array)
    free = synthesize(t1, tiny(), InferenceOptions(skip_background=False, **CPU)).array
    assert np.abs(free[~fg]).max() > 0
    masked = synthesize(t1, tiny(outside="background"), InferenceOptions(skip_background=False, **CPU)).array
    assert (masked[~fg] == 0).all()  # the card's background (0 in T2 units)
    np.testing.assert_allclose(masked[fg], free[fg], rtol=1e-5)
    quantiles = np.linspace(-0.5, 0.9, 101).tolist()  # a uniform target distribution in normalized units
    calibrated = synthesize(t1, tiny(output_quantiles=quantiles), InferenceOptions(**CPU)).array
    values = (calibrated[fg] / 800.0) * 2 - 1  # back to normalized units (the card's minmax 0..800)
    np.testing.assert_allclose(np.quantile(values, [0.1, 0.5, 0.9]), [-0.36, 0.2, 0.76], atol=0.03)
    plain = synthesize(t1, tiny(), InferenceOptions(**CPU)).array
    order = np.argsort(plain[fg])
    assert (np.diff(calibrated[fg][order]) >= -1e-3).all()  # monotone: the network's ranking is kept
    off = synthesize(t1, tiny(output_quantiles=quantiles), InferenceOptions(calibrate=False, **CPU)).array
    np.testing.assert_array_equal(off, plain)


def tiny_baseline():
    from medsynth.baselines import fit_baseline
    from medsynth.checkpoint import LoadedModel
    from medsynth.phantom import make_subject, phantom_grid

    pair = make_subject(phantom_grid((24, 24, 16)), seed=1, index=0, contrasts=("T1", "T2"))
    model, card = fit_baseline("joint_histogram", [(pair.images["T1"], pair.images["T2"], None)], "T1", "T2")
    return LoadedModel(model.eval(), card)
