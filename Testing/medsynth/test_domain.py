"""Out-of-domain warnings: the card's record of the training inputs, and each kind of input far outside it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from medsynth import domain
from medsynth.mask import foreground_mask
from medsynth.phantom import make_subject, phantom_grid
from medsynth.volume import Volume

PERCENTILE = {"kind": "percentile", "percentiles": [1.0, 99.0]}


class Card:
    """The parts of a model card the checks read."""

    def __init__(self, recorded: dict | None, normalization=PERCENTILE) -> None:
        self.name, self.source_contrast, self.source_normalization = "brain-T1-T2", "T1", normalization
        self.training = {} if recorded is None else {"domain": recorded}


@pytest.fixture(scope="module")
def heads():
    """Three phantom T1 volumes (1.5 mm) and their head masks, and the summary of the first two."""
    subjects = [make_subject(phantom_grid((48, 56, 40), spacing=(1.5, 1.5, 1.5)), seed=11, index=k,
                             contrasts=("T1",)) for k in range(3)]
    inputs = [(s.images["T1"], foreground_mask(s.images["T1"].array)) for s in subjects]
    return inputs, domain.summarize(inputs[:2], PERCENTILE)


def test_summary_records_volume_spacing_and_histogram(heads):
    inputs, recorded = heads
    low, high = recorded["foreground_ml"]
    sizes = [domain.foreground_ml(v, m) for v, m in inputs[:2]]
    assert low == pytest.approx(min(sizes), abs=0.1) and high == pytest.approx(max(sizes), abs=0.1)
    assert recorded["spacing_mm"] == pytest.approx([1.5, 1.5])
    assert len(recorded["histogram_quantiles"]) == domain.QUANTILES.size
    assert recorded["histogram_threshold"] >= domain.MIN_THRESHOLD
    assert recorded["skull_stripped"] is (high < domain.SKULL_STRIPPED_ML)


def test_an_input_like_the_training_ones_gets_no_warning(heads):
    inputs, recorded = heads
    volume, mask = inputs[2]  # another subject of the same kind
    assert domain.domain_warnings(volume, mask, Card(recorded)) == []


def test_a_head_with_skull_for_a_brain_only_model_is_flagged(heads):
    inputs, recorded = heads
    volume, mask = inputs[2]
    brains = {**recorded, "foreground_ml": [1100.0, 1500.0], "skull_stripped": True}
    big = Volume(volume.array, np.diag([3.0, 3.0, 3.0, 1.0]) @ np.eye(4))  # 8x the volume: about 3-4 L
    big_domain = {**brains, "spacing_mm": [3.0, 3.0]}  # only the size is off
    warnings = domain.domain_warnings(big, mask, Card(big_domain))
    assert len(warnings) == 1 and "head with skull and scalp" in warnings[0] and "skull-strip" in warnings[0]


def test_voxel_size_off_by_more_than_half_is_flagged(heads):
    inputs, recorded = heads
    volume, mask = inputs[2]
    coarse = Volume(volume.array, np.diag([3.0, 3.0, 3.0, 1.0]))
    scaled = {**recorded, "foreground_ml": [v * 8 for v in recorded["foreground_ml"]]}  # same size in mL
    warnings = domain.domain_warnings(coarse, mask, Card(scaled))
    assert len(warnings) == 1 and "3 x 3 x 3 mm" in warnings[0] and "1.5-1.5 mm" in warnings[0]
    fine = Volume(volume.array, np.diag([1.0, 1.0, 1.0, 1.0]))  # a third smaller: within half
    assert domain.domain_warnings(fine, mask, Card({**recorded, "foreground_ml": [1, 1e6]})) == []


def test_another_protocols_histogram_is_flagged_but_a_rescaled_one_is_not(heads):
    inputs, recorded = heads
    volume, mask = inputs[2]
    rescaled = volume.with_array(volume.array * 4.0 + 30.0)  # another scanner's scale: normalized away
    assert domain.domain_warnings(rescaled, mask, Card(recorded)) == []
    unit = volume.array / volume.array.max()
    inverted = volume.with_array((1.0 - unit) * mask * 800.0)  # a T2-like inversion of tissue contrast
    warnings = domain.domain_warnings(inverted, mask, Card(recorded))
    assert len(warnings) == 1 and "intensity histogram inside the head" in warnings[0]


def test_no_record_or_a_damaged_one_gives_no_warning_and_no_crash(heads, caplog):
    inputs, _ = heads
    volume, mask = inputs[2]
    assert domain.domain_warnings(volume, mask, Card(None)) == []
    with caplog.at_level(logging.DEBUG, logger="medsynth.domain"):
        assert domain.domain_warnings(volume, mask, Card({"foreground_ml": "big"})) == []
    assert "unreadable training domain" in caplog.text


@pytest.mark.torch
def test_synthesis_logs_and_returns_the_warnings(subject, tiny, caplog):
    from medsynth.inference import InferenceOptions, synthesize_with_uncertainty

    loaded = tiny()
    t1 = subject.images["T1"]
    mask = foreground_mask(t1.array)
    recorded = domain.summarize([(t1, mask)], loaded.card.source_normalization)
    loaded.card.training = {"domain": {**recorded, "spacing_mm": [0.3, 0.3]}}
    with caplog.at_level(logging.WARNING, logger="medsynth"):
        result = synthesize_with_uncertainty(t1, loaded, InferenceOptions(device="cpu"), uncertainty=False)
    spacing = [w for w in result.warnings if "voxels are" in w]  # (the phantom's hemispheres differ: the trust
    assert len(spacing) == 1  # mask's asymmetry check may warn too)
    assert all(w in caplog.text for w in result.warnings)
