"""The phantom: determinism, geometry, tissue contrast following the physics, dataset folders."""

import numpy as np
import pytest
from medsynth.core.errors import ConfigError
from medsynth.io import read_volume
from medsynth.phantom import IXI_PROTOCOL, make_anatomy, make_subject, phantom_grid, write_phantom_dataset
from medsynth.phantom.signal import tissue_signal
from medsynth.phantom.tissues import TISSUE_BY_NAME

SHAPE = (40, 44, 30)


def test_deterministic_per_seed_and_different_across_seeds():
    grid = phantom_grid(SHAPE)
    a = make_subject(grid, seed=3, index=1, contrasts=("T1", "T2"))
    b = make_subject(grid, seed=3, index=1, contrasts=("T1", "T2"))
    c = make_subject(grid, seed=4, index=1, contrasts=("T1", "T2"))
    np.testing.assert_array_equal(a.images["T1"].array, b.images["T1"].array)
    assert not np.array_equal(a.masks["T1"].array, c.masks["T1"].array)


def test_fractions_sum_to_one_and_all_tissues_appear():
    anatomy = make_anatomy(phantom_grid((64, 64, 48)), np.random.default_rng(0), lesion=True)
    np.testing.assert_allclose(anatomy.fractions.sum(axis=0), 1.0, atol=1e-5)
    assert (anatomy.fractions >= 0).all()
    present = set(np.unique(anatomy.labels))
    assert present == set(range(11))  # air, skin, fat, bone, marrow, muscle, csf, gm, wm, deep gm, lesion


def test_tissue_contrast_follows_signal_equations():
    """Textbook orderings at 1.5 T: T1w WM > GM > CSF; T2w CSF > GM > WM; FLAIR nulls CSF."""
    s = {c: {t: tissue_signal(TISSUE_BY_NAME[t], IXI_PROTOCOL[c]) for t in ("csf", "gray_matter", "white_matter")}
         for c in ("T1", "T2", "PD", "FLAIR")}
    assert s["T1"]["white_matter"] > s["T1"]["gray_matter"] > s["T1"]["csf"]
    assert s["T2"]["csf"] > s["T2"]["gray_matter"] > s["T2"]["white_matter"]
    assert s["PD"]["csf"] > s["PD"]["gray_matter"] > s["PD"]["white_matter"]
    assert s["FLAIR"]["csf"] < 1e-6 < s["FLAIR"]["white_matter"]


def test_simulated_images_show_the_contrast(subject):
    labels = subject.labels["T1"].array

    def mean(contrast, tissue):
        return subject.images[contrast].array[labels == TISSUE_BY_NAME[tissue].label].mean()

    assert mean("T1", "white_matter") > mean("T1", "gray_matter") > mean("T1", "csf")
    assert mean("T2", "csf") > mean("T2", "gray_matter") > mean("T2", "white_matter")
    # coarse test voxels mix the 2 mm skull tables with marrow and soft tissue (partial volume)
    assert mean("CT", "bone") > 500 > 100 > mean("CT", "white_matter") > 0 > -900 > mean("CT", "air")
    air = subject.images["T1"].array[labels == 0]
    assert air.mean() < 0.1 * mean("T1", "white_matter")  # Rician noise floor only


def test_any_grid_spacing_and_orientation():
    direction = np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], dtype=float).T  # sagittal acquisition
    grid = phantom_grid((24, 30, 20), spacing=(1.5, 2.0, 2.5), direction=direction)
    subj = make_subject(grid, seed=1, contrasts=("T1",))
    vol = subj.images["T1"]
    assert vol.array.shape == (20, 30, 24)
    np.testing.assert_allclose(vol.spacing, (1.5, 2.0, 2.5))
    # the head is centred whatever the orientation: its centre of mass is near RAS (0, 0, 0)
    k, j, i = np.nonzero(subj.masks["T1"].array)
    centre = vol.ijk_to_ras @ np.array([i.mean(), j.mean(), k.mean(), 1.0])
    assert np.abs(centre[:3]).max() < 15


def test_dataset_folder_paired_and_unpaired(tmp_path):
    written = write_phantom_dataset(tmp_path / "ds", subjects=2, shape=SHAPE, seed=5, contrasts=("T1", "T2"))
    names = sorted(p.name for p in written)
    assert names == sorted(f"phantom00{i}-{c}.nii.gz" for i in (1, 2) for c in ("T1", "T2", "mask"))
    t1, t2 = read_volume(tmp_path / "ds/phantom001-T1.nii.gz", None), read_volume(tmp_path / "ds/phantom001-T2.nii.gz")
    assert t1.array.dtype == np.int16 and t1.same_grid(t2)
    unpaired = write_phantom_dataset(tmp_path / "u", subjects=1, shape=SHAPE, seed=5, contrasts=("T1", "T2"),
                                     unpaired=True)
    assert {p.name for p in unpaired} >= {"phantom001-T1-mask.nii.gz", "phantom001-T2-mask.nii.gz"}
    m1 = read_volume(tmp_path / "u/phantom001-T1-mask.nii.gz").array
    m2 = read_volume(tmp_path / "u/phantom001-T2-mask.nii.gz").array
    assert not np.array_equal(m1, m2)  # different anatomy per contrast


def test_bad_shape_is_rejected():
    from medsynth.core.errors import ConfigError

    with pytest.raises(ConfigError, match="three sizes"):
        phantom_grid((10, 10))


def test_paired_3t_and_7t_subjects_differ_as_the_fields_do(tmp_path):
    from medsynth.dataset import find_subjects
    from medsynth.phantom.tissues import tissues_at

    wm = {field: next(t for t in tissues_at(field) if t.name == "white_matter") for field in (1.5, 3.0, 7.0)}
    assert wm[1.5].t1 < wm[3.0].t1 < wm[7.0].t1 and wm[3.0].t2s > wm[7.0].t2s  # T1 lengthens, T2* shortens
    grid = phantom_grid((64, 72, 48))
    subject = make_subject(grid, 2, 0, ("T1", "T1_7T"), field=3.0)
    labels = subject.labels["T1"].array
    three, seven = subject.images["T1"].array, subject.images["T1_7T"].array
    assert np.array_equal(labels, subject.labels["T1_7T"].array)  # one anatomy: paired

    def centre_to_rim(image):  # white matter near the centre against near the rim (the B1 profile)
        half = (np.asarray(image.shape) - 1) / 2
        radius = np.sqrt(sum(((a - h) / h) ** 2 for a, h in zip(np.indices(image.shape), half, strict=True)))
        white = labels == 8
        return np.median(image[white & (radius < 0.35)]) / np.median(image[white & (radius > 0.55)])

    assert centre_to_rim(seven) > centre_to_rim(three) + 0.1
    sharpness = [np.mean(np.abs(np.diff(image, axis=2))[labels[:, :, 1:] > 0]) for image in (three, seven)]
    assert sharpness[0] < sharpness[1]  # beside 7 T images, the 3 T one is imaged more coarsely
    alone = make_subject(grid, 2, 0, ("T1",), field=3.0).images["T1"].array
    assert not np.allclose(alone, three)  # without 7 T images, the 3 T one keeps the grid's resolution
    assert np.array_equal(make_subject(grid, 2, 0, ("T1",)).images["T1"].array,
                          make_subject(grid, 2, 0, ("T1",), field=1.5).images["T1"].array)
    write_phantom_dataset(tmp_path / "d", 1, shape=(24, 28, 20), contrasts=("T1", "T1_7T"), field=3.0)
    assert set(find_subjects(tmp_path / "d")["phantom001"]) == {"T1", "T1_7T", "mask"}
    with pytest.raises(ConfigError, match="field strength must be one of 1.5, 3, 7 T, got 9.4"):
        make_subject(grid, 2, 0, ("T1",), field=9.4)


@pytest.mark.torch  # the command line loads the model code
def test_symmetric_heads_mirror_their_hemispheres_but_for_the_lesion(tmp_path):
    from medsynth.asymmetry import asymmetric_mask
    from medsynth.cli.main import main
    from medsynth.mask import foreground_mask

    grid = phantom_grid((56, 64, 48), spacing=(2.5, 2.5, 2.5))

    def subject(symmetric: bool, lesion: float):
        return make_subject(grid, seed=2, index=0, contrasts=("FLAIR",), lesion_probability=lesion,
                            symmetric=symmetric)

    def asymmetric(volume) -> float:  # the share of the head unlike the other side (the trust mask's check)
        head = foreground_mask(volume.array)
        return float(asymmetric_mask(volume, head, "FLAIR")[head].mean())

    default = asymmetric(subject(False, 0.0).images["FLAIR"])
    assert default > 0.01 and asymmetric(subject(True, 0.0).images["FLAIR"]) < default / 4
    np.testing.assert_array_equal(subject(False, 0.0).images["FLAIR"].array,  # the default heads are as they were
                                  make_subject(grid, seed=2, index=0, contrasts=("FLAIR",),
                                               lesion_probability=0.0).images["FLAIR"].array)
    lesioned = subject(True, 1.0).labels["FLAIR"]
    lesion = lesioned.array == TISSUE_BY_NAME["lesion"].label
    flipped = np.flip(lesion, lesioned.slice_axis("sagittal"))
    assert lesion.any() and not (lesion & flipped).any()  # on one side only
    assert main(["-q", "phantom", str(tmp_path), "--shape", "56", "64", "48", "--spacing", "2.5", "2.5", "2.5",
                 "--seed", "2", "--contrasts", "FLAIR", "--symmetric", "--lesion-probability", "0"]) == 0
    assert asymmetric(read_volume(tmp_path / "phantom001-FLAIR.nii.gz")) < default / 4
