"""Normalizations: fitted parameters, exact inverses, validation."""

import numpy as np
import pytest
from medsynth.core import intensity
from medsynth.core.errors import ConfigError


@pytest.mark.parametrize("spec", [
    {"kind": "minmax", "percentiles": [0.0, 99.5]},
    {"kind": "minmax", "percentiles": [1.0, 99.0]},
    {"kind": "zscore"},
    {"kind": "window", "params": {"lo": -1024.0, "hi": 3071.0}},
])
def test_inverse_is_exact_within_the_clip_range(subject, spec):
    raw = subject.images["CT" if spec["kind"] == "window" else "T1"].array
    mask = subject.masks["T1"].array > 0
    fitted = intensity.fit(spec, raw, mask)
    normalized = intensity.apply(fitted, raw)
    back = intensity.invert(fitted, normalized)
    if spec["kind"] == "zscore":
        np.testing.assert_allclose(back, raw, rtol=1e-5, atol=1e-3)
        assert abs(normalized[mask].mean()) < 1e-4 and abs(normalized[mask].std() - 1) < 1e-4
    else:
        lo, hi = fitted["params"]["lo"], fitted["params"]["hi"]
        assert normalized.min() >= -1 and normalized.max() <= 1
        inside = (raw >= lo) & (raw <= hi)
        np.testing.assert_allclose(back[inside], raw[inside], rtol=1e-5, atol=1e-3)


def test_minmax_maps_fitted_range_to_minus_one_one():
    x = np.linspace(0, 100, 1001, dtype=np.float32).reshape(7, 11, 13)
    fitted = intensity.fit({"kind": "minmax", "percentiles": [0, 100]}, x)
    assert fitted["params"] == {"lo": 0.0, "hi": 100.0}
    assert intensity.apply_value(fitted, 0.0) == -1.0 and intensity.apply_value(fitted, 100.0) == 1.0
    assert intensity.apply_value(fitted, 50.0) == pytest.approx(0.0)


def test_percentile_uses_the_foreground_only_and_keeps_the_background_below_tissue(subject):
    raw = subject.images["T1"].array
    mask = subject.masks["T1"].array > 0
    fitted = intensity.fit({"kind": "percentile"}, raw, mask)
    lo, hi = np.percentile(raw[mask], [1, 99])
    assert fitted["params"] == pytest.approx({"lo": lo, "hi": hi})
    padded = np.pad(raw, 20)  # more air around the head does not move the scale
    assert intensity.fit({"kind": "percentile"}, padded, np.pad(mask, 20))["params"] == fitted["params"]
    scaled = intensity.fit({"kind": "percentile"}, raw * 3 + 50, mask)  # another site's scale: same image
    np.testing.assert_allclose(intensity.apply(scaled, raw * 3 + 50), intensity.apply(fitted, raw), atol=1e-4)
    normalized = intensity.apply(fitted, raw)
    assert normalized.min() >= -2 and normalized.max() <= 2
    assert np.median(normalized[~mask]) < np.percentile(normalized[mask], 1)  # background under the darkest tissue
    inside = np.abs(normalized) < 2
    np.testing.assert_allclose(intensity.invert(fitted, normalized)[inside], raw[inside], rtol=1e-5, atol=1e-3)


def test_ct_default_is_a_fixed_hu_window():
    spec = intensity.default_normalization("CT")
    assert intensity.apply_value(spec, -1024.0) == -1.0 and intensity.apply_value(spec, 3071.0) == 1.0


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "gamma"}, "unknown normalization kind"),
    ({"kind": "minmax", "params": {"lo": 1.0}}, "needs numeric params"),
    ({"kind": "minmax", "params": {"lo": 5.0, "hi": 5.0}}, "degenerate"),
    ({"kind": "zscore", "params": {"mean": 0.0, "std": 0.0}}, "degenerate"),
])
def test_invalid_specs_are_rejected(spec, message):
    with pytest.raises(ConfigError, match=message):
        intensity.validate(spec, "test", fitted=True)
