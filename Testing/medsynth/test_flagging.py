"""Uncertainty against error: Spearman, sparsification and the area ratio behave as their definitions say."""

import numpy as np
import pytest
from medsynth.flagging import flagging


def errors(n=50_000):
    return np.abs(np.random.default_rng(0).normal(size=n))


def test_a_map_that_ranks_errors_perfectly_is_the_oracle():
    e = errors()
    f = flagging(e * 3 + 1, e)  # any increasing function of the error
    assert f["spearman"] == pytest.approx(1) and f["area_ratio"] == pytest.approx(0, abs=1e-9)
    assert f["left_10"] == pytest.approx(f["oracle_10"]) and f["left_10"] < e.mean()


def test_a_random_map_is_chance_and_a_noisy_one_lies_between():
    e, rng = errors(), np.random.default_rng(1)
    chance = flagging(rng.random(e.size), e)
    assert abs(chance["spearman"]) < 0.02 and chance["area_ratio"] == pytest.approx(1, abs=0.05)
    assert chance["left_20"] == pytest.approx(e.mean(), rel=0.02)
    noisy = flagging(e + rng.normal(scale=0.5, size=e.size), e)
    assert 0.5 < noisy["spearman"] < 0.95 and 0.05 < noisy["area_ratio"] < 0.5
    assert noisy["oracle_5"] < noisy["left_5"] < chance["left_5"]


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one uncertainty per error value"):
        flagging(np.ones(20), np.ones(30))


def test_the_calibration_maps_uncertainty_to_error_and_its_threshold():
    from medsynth.flagging import above_threshold, calibration, share_line

    rng = np.random.default_rng(1)
    u = [rng.uniform(0.0, 1.0, 5000) for _ in range(2)]
    found = calibration([(a, 2.0 * a) for a in u])  # the error is exactly twice the uncertainty
    assert found["scale"] == pytest.approx(2.0, abs=1e-4)
    assert found["threshold"] == pytest.approx(2.0 * 0.9, abs=0.03)  # the 90th percentile of a uniform 0-2
    assert above_threshold(u[0], found) == pytest.approx(0.1, abs=0.02)
    assert share_line(0.123).startswith("12.3% of the head is above the model's calibrated error threshold")


@pytest.mark.torch
def test_a_card_takes_only_a_well_formed_calibration(tiny):
    from dataclasses import replace

    from medsynth.core.errors import ModelError
    from medsynth.flagging import uncertain_share

    good = {"method": "flip", "scale": 1.5, "threshold": 0.08, "measured": "leave one source out, 4 subjects"}
    card = replace(tiny(2).card, inference={"uncertainty_calibration": good})
    image = np.linspace(0.0, 1.0, 1000).reshape(10, 10, 10)
    sd = np.zeros_like(image)
    sd[:1] = 1.0  # a tenth of the head uncertain: expected error 1.5 > 0.08
    head = np.ones(image.shape, dtype=bool)
    assert uncertain_share(image, sd, head, card, "flip") == pytest.approx(0.1)
    assert uncertain_share(image, sd, head, card, "intensity") is None  # measured for another method
    for bad in ({**good, "scale": -1}, {**good, "method": "dropout"}, {"scale": 1.0}):
        with pytest.raises(ModelError, match="uncertainty_calibration"):
            replace(card, inference={"uncertainty_calibration": bad})
