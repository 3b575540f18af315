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
