"""The trust mask: input tissue unlike any in a model's training inputs, found, sized and written."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from medsynth import trust
from medsynth.asymmetry import asymmetric_mask
from medsynth.core import intensity
from medsynth.mask import drop_small, foreground_mask
from medsynth.phantom import make_subject, phantom_grid

PERCENTILE = {"kind": "percentile", "percentiles": [1.0, 99.0]}
LESION = 10  # medsynth.phantom.tissues
GRID = dict(shape=(64, 72, 56), spacing=(2.0, 2.0, 2.0))


class Card:
    """The parts of a model card the check reads."""

    def __init__(self, record: dict | None) -> None:
        self.name, self.source_contrast = "brain-FLAIR-T1", "FLAIR"
        self.training = {"domain": {} if record is None else {trust.RECORD: record}}


def flair(index: int, lesion: bool):
    subject = make_subject(phantom_grid(**GRID), seed=5, index=index, contrasts=("FLAIR",),
                           lesion_probability=float(lesion), symmetric=True)  # as a real brain nearly is
    volume = subject.images["FLAIR"]
    head = foreground_mask(volume.array)
    normalized = intensity.apply(intensity.fit(PERCENTILE, volume.array, head), volume.array)
    return volume, normalized, head, subject.labels["FLAIR"].array == LESION


@pytest.fixture(scope="module")
def record():
    """The record of three lesion-free phantom FLAIR heads: a bright lesion is tissue they never showed."""
    inputs = [flair(k, lesion=False) for k in range(3)]
    return trust.summarize([(volume, head) for volume, _, head, _ in inputs], PERCENTILE)


def test_the_record_is_small_plain_json(record):
    text = json.dumps(record)
    assert len(text) < 4000 and json.loads(text) == record
    assert record["bins"] == trust.BINS and tuple(record["scales_mm"]) == trust.SCALES_MM
    known = np.unpackbits(np.frombuffer(bytes.fromhex(record["known"]), dtype=np.uint8))
    assert 0 < known.sum() < trust.BINS ** 3  # some cells known, most of feature space not


@pytest.mark.parametrize("index", [4, 6])
def test_a_lesion_the_training_heads_never_had_is_flagged_and_normal_tissue_is_not(record, index):
    volume, normalized, head, lesion = flair(index, lesion=True)
    untrusted = trust.untrusted_mask(volume, normalized, head, record)
    assert untrusted.shape == head.shape and not untrusted[~head].any()
    assert untrusted[lesion].mean() > 0.9  # measured 0.97-1.00
    assert untrusted[head & ~lesion].mean() < 0.005  # measured 0.07%


def test_the_warning_gives_the_volume_in_millilitres(record):
    volume, normalized, head, _ = flair(4, lesion=True)
    untrusted, warnings = trust.check(volume, normalized, head, Card(record))
    novel = trust.untrusted_mask(volume, normalized, head, record)
    asymmetric = asymmetric_mask(volume, head, "FLAIR")
    np.testing.assert_array_equal(untrusted, novel | asymmetric)  # either signal
    assert len(warnings) == 2  # the lesion is unlike the training heads, and brighter than the other side
    for found, warning in zip((novel, asymmetric), warnings, strict=True):
        size = found.sum() * 8 / 1000.0  # 2 mm voxels
        assert size >= trust.WARN_ML and f"{size:.1f} mL of the input" in warning and "trust mask" in warning
    assert "tissue unlike any in the training inputs of model 'brain-FLAIR-T1'" in warnings[0]
    assert "brighter than the same place in the other hemisphere, as lesions are on FLAIR" in warnings[1]


def test_an_input_like_the_training_ones_gets_no_warning(record):
    volume, normalized, head, _ = flair(3, lesion=False)  # another lesion-free head
    untrusted, warnings = trust.check(volume, normalized, head, Card(record))
    assert warnings == [] and untrusted.sum() * 8 / 1000.0 < trust.WARN_ML


def test_small_regions_are_dropped():
    mask = np.zeros((10, 10, 10), dtype=bool)
    mask[1:3, 1:3, 1:3] = True  # 8 voxels
    mask[5:9, 5:9, 5:9] = True  # 64 voxels
    kept = drop_small(mask, 20)
    assert kept.sum() == 64 and kept[6, 6, 6] and not kept[1, 1, 1]


def test_models_without_a_record_or_with_a_damaged_one_give_no_mask(record, caplog):
    volume, normalized, head, _ = flair(4, lesion=True)
    assert trust.check(volume, normalized, head, Card(None)) == (None, [])
    with caplog.at_level(logging.WARNING):
        assert trust.check(volume, normalized, head, Card({**record, "known": "zz"})) == (None, [])
    assert "unreadable trust record" in caplog.text


@pytest.mark.torch
def test_synthesis_returns_the_mask_on_the_input_grid(record, tiny):
    from medsynth.inference import InferenceOptions, synthesize_with_uncertainty

    volume, _, _, lesion = flair(4, lesion=True)
    loaded = tiny(2)
    loaded.card.source_normalization = PERCENTILE
    loaded.card.source_contrast = "FLAIR"
    loaded.card.training = {"domain": {trust.RECORD: record}}
    result = synthesize_with_uncertainty(volume, loaded, InferenceOptions(device="cpu"), uncertainty=False)
    assert result.untrusted.same_grid(volume) and result.untrusted.array.dtype == np.uint8
    assert result.untrusted.array[lesion].mean() > 0.9
    assert any("trust mask" in w for w in result.warnings)


@pytest.mark.torch
def test_the_command_writes_the_mask_or_refuses_a_model_without_a_record(record, tiny, tmp_path, capsys):
    from medsynth.checkpoint import save_model
    from medsynth.cli.main import main
    from medsynth.io import read_volume, write_volume

    volume, _, _, lesion = flair(4, lesion=True)
    source = tmp_path / "sub-FLAIR.nii.gz"
    write_volume(volume, source)
    loaded = tiny(2)
    bare = save_model(loaded.model, loaded.card, tmp_path / "bare.safetensors")
    out, mask = tmp_path / "syn.nii.gz", tmp_path / "trust.nii.gz"
    assert main(["-q", "synthesize", str(source), str(out), "-m", str(bare), "--trust-mask", str(mask)]) == 2
    assert "gives no trust mask" in capsys.readouterr().err and not out.exists() and not mask.exists()

    loaded.card.source_normalization, loaded.card.source_contrast = PERCENTILE, "FLAIR"
    loaded.card.training = {"domain": {trust.RECORD: record}}
    recorded = save_model(loaded.model, loaded.card, tmp_path / "recorded.safetensors")
    assert main(["-q", "synthesize", str(source), str(out), "-m", str(recorded), "--trust-mask", str(mask)]) == 0
    assert f"and its trust mask {mask}" in capsys.readouterr().out
    written = read_volume(mask)
    assert written.same_grid(read_volume(out)) and set(np.unique(written.array)) <= {0, 1}
    assert written.array[lesion].mean() > 0.9
    assert main(["-q", "synthesize", str(source), str(tmp_path / "b.nii.gz"), "-m", str(recorded), "--trust-mask",
                 str(tmp_path / "b.nii.gz")]) == 2
    assert "needs another file" in capsys.readouterr().err
