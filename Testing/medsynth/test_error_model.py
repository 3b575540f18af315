"""The error model: its features, its fit and prediction, and the card entry that carries it."""

from dataclasses import replace

import numpy as np
import pytest
from medsynth import error_model
from medsynth.core.errors import InputError, ModelError
from medsynth.core.options import ERROR_MODEL, error_model_size
from scipy.stats import spearmanr


def volumes(shape=(12, 20, 20)):
    """An input with a dark square (CSF-like) and an output bright there, inside a head mask."""
    inp = np.full(shape, 100.0, dtype=np.float32)
    out = np.full(shape, 10.0, dtype=np.float32)
    inp[:, 5:10, 5:10], out[:, 5:10, 5:10] = 20.0, 90.0
    mask = np.zeros(shape, dtype=bool)
    mask[2:-2, 2:-2, 2:-2] = True
    return inp, out, mask


def test_features_are_each_image_on_its_own_scale_and_the_outputs_local_contrast():
    inp, out, mask = volumes()
    found = error_model.features([inp], out, mask, (1.0, 1.0, 1.0))
    assert found.shape == (mask.sum(), 3) and found.dtype == np.float32
    dark = (inp[mask] == 20.0)
    assert found[dark, 0].max() < found[~dark, 0].min()  # the input's own scale keeps its order
    assert found[dark, 1].min() > found[~dark, 1].max()
    assert found[:, 2].max() > 0.2  # the square's edge
    flat = np.zeros(mask.shape, dtype=bool)
    flat[2:-2, 14:-2, 14:-2] = True  # far from the square: no local contrast
    assert np.allclose(error_model.features([inp], out, flat, (1.0, 1.0, 1.0))[:, 2], 0.0, atol=1e-6)
    coarse = error_model.features([inp], out, mask, (4.0, 4.0, 4.0))  # 1 mm is a quarter voxel: a sharper edge
    assert coarse[:, 2].sum() < found[:, 2].sum()
    two = error_model.features([inp, 2 * inp + 5], out, mask, (1.0, 1.0, 1.0))
    assert two.shape == (mask.sum(), 4)
    np.testing.assert_allclose(two[:, 0], two[:, 1], atol=1e-5)  # own scale: an affine change does not show


def test_the_fit_ranks_unseen_errors_by_the_features_that_drive_them():
    rng = np.random.default_rng(0)

    def subject(n=20_000):
        f = rng.uniform(0, 1, size=(n, 3)).astype(np.float32)
        error = np.exp(-4 + 3 * f[:, 1] + 2 * f[:, 2] - f[:, 0]) * rng.lognormal(0, 0.3, n)
        return f, error

    coefficients = error_model.fit([subject(), subject()])
    assert len(coefficients) == error_model_size(1) == 7
    unseen, error = subject()
    expected = error_model.predict(coefficients, unseen)
    assert expected.min() >= 0 and spearmanr(expected, error).statistic > 0.9
    assert np.median(expected / error) == pytest.approx(1.0, abs=0.1)  # log fit: the median error
    with pytest.raises(ModelError, match="has 7 coefficients; a model with 2 input"):
        error_model.predict(coefficients, np.zeros((5, 4), np.float32))


def test_the_error_map_is_in_the_outputs_units_and_zero_outside_the_head():
    inp, out, mask = volumes()
    coefficients = [-3.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0]  # more error where the output is bright or changes
    found = error_model.error_map(coefficients, [inp], out, mask, (1.0, 1.0, 1.0))
    assert found.shape == out.shape and (found[~mask] == 0).all() and (found[mask] > 0).all()
    assert found[:, 7, 7].max() > found[:, 15, 15].max()
    tenfold = error_model.error_map(coefficients, [inp], 10 * out, mask, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(tenfold, 10 * found, rtol=1e-4)


ENTRY = {"method": ERROR_MODEL, "scale": 1.3, "threshold": 0.2, "measured": "leave one subject out, 4 subjects",
         "coefficients": [-3.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0]}


def test_a_card_carries_one_calibration_per_method_and_picks_the_error_model_for_auto(tiny_card):
    card = tiny_card()
    assert card.uncertainty_method("auto") == "intensity"  # no error model: the intensity ensemble
    with pytest.raises(InputError, match="has no error model in its card.*intensity or flip"):
        card.uncertainty_method(ERROR_MODEL)
    with pytest.raises(InputError, match="has no error model"):
        card.check_request(1, uncertainty=True, method=ERROR_MODEL)
    card.check_request(1, uncertainty=False, method=ERROR_MODEL)  # no map asked: nothing to refuse
    flip = {"method": "flip", "scale": 1.5, "threshold": 0.08, "measured": "text"}
    both = replace(card, inference={"uncertainty_calibration": [ENTRY, flip]})
    assert both.uncertainty_method("auto") == ERROR_MODEL and both.uncertainty_calibration("flip") == flip
    assert "uncertainty calibrated on unseen subjects: error-model, flip (the default, auto, makes the " \
           "error-model map)" in both.summary()
    assert both.uncertainty_calibration("intensity") is None
    old = replace(card, inference={"uncertainty_calibration": flip})  # one entry, as cards held until now
    assert old.uncertainty_calibration("flip") == flip and old.uncertainty_method("auto") == "intensity"
    no_coefficients = {k: v for k, v in ENTRY.items() if k != "coefficients"}
    nine = {**ENTRY, "coefficients": [1.0] * 9}  # a two-input model's, on a one-input card
    for bad in ([ENTRY, ENTRY], [], no_coefficients, {**flip, "coefficients": [1.0]},
                {**ENTRY, "coefficients": [1.0, "x"]}, {**ENTRY, "method": "auto"}, nine):
        with pytest.raises(ModelError, match="uncertainty_calibration"):
            replace(card, inference={"uncertainty_calibration": bad})
