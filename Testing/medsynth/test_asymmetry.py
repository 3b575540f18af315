"""The asymmetry signal: a one-sided lesion is flagged in the direction its contrast shows it, the rest is not."""

import numpy as np
import pytest
import SimpleITK as sitk
from medsynth import asymmetry
from medsynth.mask import foreground_mask
from medsynth.phantom import make_subject, phantom_grid
from medsynth.volume import from_sitk, to_sitk

LESION = 10  # medsynth.phantom.tissues
GRID = dict(shape=(64, 72, 56), spacing=(2.0, 2.0, 2.0))


def head(contrast: str, index: int = 4, lesion: bool = True, grid: dict = GRID):
    """A mirror-symmetric phantom head (tilted and shifted a little, as each phantom is), the lesion on one side."""
    subject = make_subject(phantom_grid(**grid), seed=5, index=index, contrasts=(contrast,),
                           lesion_probability=float(lesion), symmetric=True)
    volume = subject.images[contrast]
    return volume, foreground_mask(volume.array), subject.labels[contrast].array == LESION


@pytest.mark.parametrize("contrast", ["FLAIR", "T2"])
def test_a_lesion_brighter_than_the_other_side_is_flagged_and_the_rest_of_the_head_is_not(contrast):
    volume, mask, lesion = head(contrast)
    found = asymmetry.asymmetric_mask(volume, mask, contrast)
    assert found.shape == mask.shape and found.dtype == bool and not found[~mask].any()
    assert lesion.sum() * 8 / 1000 > 1.0 and found[lesion].mean() > 0.8  # measured 0.97-1.00
    assert found[mask & ~lesion].mean() < 0.005  # measured 0.01-0.11%


def test_only_the_direction_lesions_show_in_the_contrast_counts_and_unchecked_contrasts_give_none():
    volume, mask, lesion = head("FLAIR")
    as_t1 = asymmetry.asymmetric_mask(volume, mask, "T1")  # on T1, lesions are darker: this bright one is not
    assert not as_t1[lesion].any()
    difference = asymmetry.difference(volume, mask, "FLAIR")
    np.testing.assert_allclose(asymmetry.difference(volume, mask, "T1"), -difference, atol=1e-6)
    assert difference[lesion].mean() > asymmetry.MIN_DIFFERENCE
    for contrast in ("CT", "T1c"):  # lesions show either way: not checked
        assert asymmetry.asymmetric_mask(volume, mask, contrast) is None


def test_a_head_without_a_lesion_has_nothing_flagged():
    for index in (3, 6):
        volume, mask, _ = head("FLAIR", index, lesion=False)
        found = asymmetry.asymmetric_mask(volume, mask, "FLAIR")
        assert found.sum() * 8 / 1000 < 1.0  # under the warning's 1 mL (measured 0-0.5 mL)


def test_the_midline_is_found_in_a_tilted_head_off_the_grid_centre():
    volume, _, lesion = head("FLAIR", grid=dict(shape=(88, 96, 80), spacing=(2.0, 2.0, 2.0)))  # room to turn
    image = to_sitk(volume, volume.array.astype(np.float32))
    turn = sitk.Euler3DTransform()
    turn.SetCenter(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()]))
    turn.SetRotation(0.0, 0.0, np.deg2rad(10.0))  # about the superior axis: the midline turns in the axial plane
    turn.SetTranslation((8.0, -4.0, 0.0))  # and leaves the grid's centre
    moved = from_sitk(sitk.Resample(image, image, turn, sitk.sitkLinear, 0.0))
    labels = to_sitk(volume, lesion.astype(np.uint8))
    moved_lesion = sitk.GetArrayFromImage(sitk.Resample(labels, labels, turn, sitk.sitkNearestNeighbor, 0)) > 0
    moved_mask = foreground_mask(moved.array)
    found = asymmetry.asymmetric_mask(moved, moved_mask, "FLAIR")
    assert found[moved_lesion].mean() > 0.8
    assert found[moved_mask & ~moved_lesion].mean() < 0.005
    flipped = np.flip(moved.array, moved.slice_axis("sagittal"))  # about the grid's centre: the halves miss
    registered, _ = asymmetry.mirrored(moved, moved.array, moved_mask)
    gap = [np.abs(mirror - moved.array)[moved_mask].mean() for mirror in (flipped, registered)]
    assert gap[0] > 2 * gap[1]


def test_an_input_too_small_to_mirror_is_not_checked_and_a_failed_registration_keeps_the_novelty_mask(
        monkeypatch, caplog):
    import logging

    from medsynth import trust
    from medsynth.volume import Volume

    thin = np.random.default_rng(0).random((2, 64, 64)).astype(np.float32) + 1  # two slices
    assert asymmetry.asymmetric_mask(Volume(thin, np.eye(4)), np.ones(thin.shape, bool), "FLAIR") is None
    volume, mask, _ = head("FLAIR")
    novel = np.zeros(mask.shape, dtype=bool)
    novel[10:20, 10:20, 10:20] = mask[10:20, 10:20, 10:20]
    monkeypatch.setattr(trust, "record_of", lambda card: {})
    monkeypatch.setattr(trust, "untrusted_mask", lambda *args: novel)

    def fails(*args):
        raise RuntimeError("Exception thrown in SimpleITK ImageRegistrationMethod_Execute\nmore")

    monkeypatch.setattr(trust, "asymmetric_mask", fails)

    class Card:
        name, source_contrast = "brain-FLAIR-T1", "FLAIR"

    with caplog.at_level(logging.WARNING, logger="medsynth"):
        untrusted, _ = trust.check(volume, volume.array, mask, Card())
    np.testing.assert_array_equal(untrusted, novel)
    assert "the asymmetry check could not mirror the input (Exception thrown in SimpleITK" in caplog.text
