"""Intensity conventions for comparisons: both sides alike, window/level only, and auto's choice."""

from __future__ import annotations

import numpy as np
import pytest
from medsynth.core.conventions import calibrate, common_space, own_scale, resolve
from medsynth.core.errors import ConfigError


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    reference = rng.random((10, 12, 14)) * 800 + 100
    return reference, np.ones(reference.shape, bool)


def test_own_scale_maps_each_image_by_its_own_percentiles(images):
    reference, mask = images
    a, b = own_scale(reference, mask), own_scale(reference * 0.001 + 5, mask)
    np.testing.assert_allclose(a, b, atol=1e-9)  # a scale and an offset are gone
    assert np.percentile(a, 1) == pytest.approx(0, abs=1e-9) and np.percentile(a, 99) == pytest.approx(1)


def test_calibration_is_a_window_level_change_never_an_inversion(images):
    reference, mask = images
    np.testing.assert_allclose(calibrate(reference / 7.0 - 3.0, reference, mask), reference, rtol=1e-9)
    inverted = calibrate(-reference, reference, mask)  # a negative slope would turn T1 into "T2" for free
    np.testing.assert_allclose(inverted, reference.mean())


def test_auto_is_raw_on_one_scale_and_own_scale_otherwise(images):
    reference, mask = images
    assert resolve("auto", reference * 1.2, reference, mask) == "raw"
    assert resolve("auto", reference / 1000, reference, mask) == "own-scale"
    s, r, chosen = common_space(reference / 1000, reference, mask)
    assert chosen == "own-scale" and np.abs(s - r).max() < 1e-9
    with pytest.raises(ConfigError, match="must be one of auto, raw, own-scale, calibrated"):
        resolve("zscore", reference, reference, mask)
    with pytest.raises(ConfigError, match="mask holds no voxel"):
        common_space(reference, reference, np.zeros(reference.shape, bool))
