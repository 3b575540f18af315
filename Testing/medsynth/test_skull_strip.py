"""Skull stripping raw scans (deepbet): the brain mask, the contrasts it is made for, and synthesis inside it."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from medsynth import skull_strip
from medsynth.core.errors import ConfigError, InputError
from medsynth.phantom import make_subject, phantom_grid

pytestmark = pytest.mark.torch  # deepbet runs on torch
INTRACRANIAL = (6, 7, 8, 9, 10)  # medsynth.phantom.tissues: csf, grey and white matter, deep grey, lesion


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


@pytest.fixture(scope="module")
def head():
    """A phantom head with skull and scalp (T1 and T2 of one anatomy), its intracranial labels and T1 mask."""
    subject = make_subject(phantom_grid((96, 96, 72)), seed=7, index=0, contrasts=("T1", "T2"))
    reference = np.isin(subject.labels["T1"].array, INTRACRANIAL)
    return subject, reference, skull_strip.brain_mask(subject.images["T1"], "T1", device="cpu")


def test_the_brain_of_a_skull_on_t1_is_found(head):
    _, reference, found = head
    assert found.mask.shape == reference.shape and found.warnings == []
    assert dice(found.mask, reference) > 0.95  # measured 0.979


def test_another_contrast_is_stripped_with_a_warning_or_with_the_subjects_t1(head):
    subject, reference, found = head
    t2 = skull_strip.brain_mask(subject.images["T2"], "T2", device="cpu")
    assert len(t2.warnings) == 1 and "trained on T1" in t2.warnings[0] and "--skull-strip-t1" in t2.warnings[0]
    assert dice(t2.mask, reference) > 0.8
    through_t1 = skull_strip.brain_mask(subject.images["T2"], "T2", reference=subject.images["T1"], device="cpu")
    assert through_t1.warnings == [] and np.array_equal(through_t1.mask, found.mask)  # same grid: the same mask


def test_ct_is_refused_and_stripping_keeps_the_grid(head):
    subject, _, found = head
    with pytest.raises(InputError, match="skull stripping a CT is not supported"):
        skull_strip.brain_mask(subject.images["T1"], "CT")
    t1 = subject.images["T1"]
    stripped = skull_strip.strip(t1, found.mask)
    assert stripped.same_grid(t1) and np.array_equal(stripped.array[found.mask], t1.array[found.mask])
    assert (stripped.array[~found.mask] == t1.array.min()).all()


def test_without_deepbet_the_error_says_how_to_install_it(monkeypatch):
    skull_strip._extractor.cache_clear()
    monkeypatch.setitem(sys.modules, "deepbet.bet", None)  # import fails
    with pytest.raises(InputError, match=r"pip install deepbet==1\.0\.2"):
        skull_strip._extractor(True)
    skull_strip._extractor.cache_clear()


def test_synthesize_skull_strip_writes_the_brain_mask_and_background_outside(head, tmp_path, capsys):
    from medsynth.cli.main import main
    from medsynth.io import read_volume, write_volume

    subject, _, found = head
    source = tmp_path / "raw-T1.nii.gz"
    write_volume(subject.images["T1"], source)
    out, brain = tmp_path / "syn-T2.nii.gz", tmp_path / "brain.nii.gz"
    assert main(["-q", "synthesize", str(source), str(out), "-m", "phantom-pgan-T1-T2", "--device", "cpu",
                 "--skull-strip", "--brain-mask", str(brain)]) == 0
    assert f"and its brain mask {brain}" in capsys.readouterr().out
    image, mask = read_volume(out), read_volume(brain)
    assert image.same_grid(subject.images["T1"]) and mask.same_grid(image)
    np.testing.assert_array_equal(mask.array > 0, found.mask)
    outside = image.array[~found.mask]
    assert np.ptp(outside) == 0  # one background value outside the brain
    assert image.array[found.mask].std() > 0
    assert main(["-q", "synthesize", str(source), str(tmp_path / "x.nii.gz"), "-m", "phantom-pgan-T1-T2",
                 "--brain-mask", str(tmp_path / "b.nii.gz")]) == 2
    assert "add --skull-strip" in capsys.readouterr().err and not (tmp_path / "x.nii.gz").exists()


def test_prepare_skull_strip_writes_brains_and_the_brain_mask(head, tmp_path):
    from medsynth.io import read_volume, write_volume
    from medsynth.prepare import PrepareOptions, prepare_dataset

    subject, _, found = head
    raw = tmp_path / "raw"
    raw.mkdir()
    for contrast in ("T1", "T2"):
        write_volume(subject.images[contrast], raw / f"sub01-{contrast}.nii.gz")
    prepare_dataset(raw, tmp_path / "out", PrepareOptions(stages=("rigid",), skull_strip=True))
    mask = read_volume(tmp_path / "out" / "sub01-mask.nii.gz").array > 0
    assert np.array_equal(mask, found.mask)
    t2 = read_volume(tmp_path / "out" / "sub01-T2.nii.gz").array
    assert np.ptp(t2[~mask]) == 0 and t2[mask].std() > 0
    with pytest.raises(ConfigError, match="must be an MRI"):
        PrepareOptions(reference="CT", skull_strip=True)
