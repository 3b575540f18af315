"""Volumes: exact grids through every format, RAS/LPS, slice axes from directions, resampling, crops."""

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from medsynth.io import read_volume, write_volume
from medsynth.mask import bounding_box, crop, foreground_mask, paste
from medsynth.resample import resample_to
from medsynth.volume import Volume, from_sitk, to_sitk
from scipy.spatial.transform import Rotation

FORMATS = [".nii", ".nii.gz", ".nrrd", ".mha", ".mhd"]


def oblique_volume(left_handed: bool = False) -> Volume:
    rng = np.random.default_rng(0)
    direction = Rotation.from_euler("xyz", [20, -10, 35], degrees=True).as_matrix()
    if left_handed:
        direction[:, 0] *= -1
    return Volume.from_geometry(
        rng.normal(size=(7, 9, 11)).astype(np.float32), spacing=(0.9, 1.3, 2.5),
        origin=(-12.5, 30.25, 7.0), direction=direction,
    )


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("left_handed", [False, True])
def test_roundtrip_keeps_grid_and_values(tmp_path, ext, left_handed):
    vol = oblique_volume(left_handed)
    path = write_volume(vol, tmp_path / f"v{ext}")
    back = read_volume(path)
    np.testing.assert_allclose(back.ijk_to_ras, vol.ijk_to_ras, atol=1e-5)
    np.testing.assert_array_equal(back.array, vol.array)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("v")) == []


def test_nifti_affine_is_ras_as_nibabel_reads_it(tmp_path):
    vol = oblique_volume()
    path = write_volume(vol, tmp_path / "v.nii.gz")
    img = nib.load(path)
    np.testing.assert_allclose(img.affine, vol.ijk_to_ras, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(img.dataobj).transpose(2, 1, 0), vol.array)


def test_sitk_conversion_is_lps():
    vol = Volume.from_geometry(np.zeros((2, 3, 4), np.float32), spacing=(1, 2, 3), origin=(10, 20, 30))
    image = to_sitk(vol)
    assert image.GetOrigin() == (-10.0, -20.0, 30.0)
    assert image.GetDirection() == (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
    assert image.GetSize() == (4, 3, 2)  # (i, j, k)
    np.testing.assert_allclose(from_sitk(image).ijk_to_ras, vol.ijk_to_ras)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        # columns: RAS direction of index axes i, j, k; expected numpy axis for axial, sagittal, coronal
        ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], {"axial": 0, "coronal": 1, "sagittal": 2}),
        ([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], {"axial": 1, "coronal": 2, "sagittal": 0}),  # IXI-like sagittal T1
        ([[0, 0, 1], [1, 0, 0], [0, 1, 0]], {"axial": 2, "coronal": 0, "sagittal": 1}),
    ],
)
def test_slice_axis_follows_direction_matrix(columns, expected):
    direction = np.array(columns, dtype=float).T
    vol = Volume.from_geometry(np.zeros((5, 6, 7), np.float32), direction=direction)
    for plane, axis in expected.items():
        assert vol.slice_axis(plane) == axis
        assert vol.plane_of_array_axis(axis) == plane


def test_slice_axis_on_oblique_grid_picks_closest_axis():
    direction = Rotation.from_euler("x", 30, degrees=True).as_matrix()  # tilted 30 deg about R
    vol = Volume.from_geometry(np.zeros((5, 6, 7), np.float32), direction=direction)
    assert vol.slice_axis("sagittal") == 2 and vol.slice_axis("axial") == 0 and vol.slice_axis("coronal") == 1


def test_to_closest_ras_reorders_axes():
    direction = np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], dtype=float).T
    data = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    vol = Volume.from_geometry(data, spacing=(1, 2, 3), direction=direction)
    ras, spacing = vol.to_closest_ras()
    # i runs along A, j along -S, k along -R: the RAS array has shape (nk, ni, nj) and spacing (3, 1, 2)
    assert ras.shape == (5, 7, 6)
    np.testing.assert_allclose(spacing, [3, 1, 2])
    assert ras[0, 0, 0] == data[4, 5, 0]  # R-most-left (k last), A lowest (i 0), S lowest (j last)


def test_resample_identity_and_known_shift():
    vol = oblique_volume()
    np.testing.assert_array_equal(resample_to(vol, vol).array, vol.array)
    ramp = Volume.from_geometry(np.tile(np.arange(20, dtype=np.float32), (6, 8, 1)), spacing=(1, 1, 1))
    shifted = Volume.from_geometry(np.zeros((6, 8, 10), np.float32), spacing=(1, 1, 1), origin=(4.5, 0, 0))
    out = resample_to(ramp, shifted)
    np.testing.assert_allclose(out.array[2, 3, :], np.arange(10) + 4.5, atol=1e-5)
    np.testing.assert_allclose(out.ijk_to_ras, shifted.ijk_to_ras)


def test_crop_and_paste_are_exact(subject):
    t1 = subject.images["T1"]
    mask = foreground_mask(t1.array)
    box = bounding_box(mask, margin=3)
    cropped = crop(t1, box)
    # every voxel keeps its physical position
    k, j, i = box[0].start, box[1].start, box[2].start
    np.testing.assert_allclose(cropped.origin, (t1.ijk_to_ras @ [i, j, k, 1])[:3])
    restored = paste(cropped.array, box, t1.array.shape)
    np.testing.assert_array_equal(restored[mask], t1.array[mask])
    assert bounding_box(np.zeros((3, 3, 3), bool)) is None


def test_foreground_mask_matches_phantom_head(subject):
    for contrast in ("T1", "T2", "CT"):
        found = foreground_mask(subject.images[contrast].array)
        truth = subject.masks[contrast].array > 0
        dice = 2 * (found & truth).sum() / (found.sum() + truth.sum())
        assert dice > 0.97, contrast


def test_read_squeezes_single_volume_4d(tmp_path):
    data = np.random.default_rng(1).random((1, 4, 5, 6)).astype(np.float32)
    image = sitk.GetImageFromArray(data, isVector=False)
    sitk.WriteImage(image, str(tmp_path / "one.nii.gz"))
    assert read_volume(tmp_path / "one.nii.gz").array.shape == (4, 5, 6)
