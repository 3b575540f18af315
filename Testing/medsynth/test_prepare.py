"""Registration and `medsynth prepare`: a known rigid motion is recovered within 1 voxel and 1 degree."""

import csv
import math

import numpy as np
import pytest
import SimpleITK as sitk
from medsynth.cli.main import main
from medsynth.io import read_volume, write_volume
from medsynth.phantom import make_subject, phantom_grid
from medsynth.registration import register
from medsynth.resample import resample_to

ROTATION_DEG = (4.0, -3.0, 6.0)
TRANSLATION_MM = (3.0, -2.5, 4.0)


def known_motion(volume):
    """A rigid transform about the volume's centre (LPS, as SimpleITK wants it)."""
    centre = volume.ijk_to_ras @ np.r_[(np.array(volume.shape_ijk) - 1) / 2, 1]
    t = sitk.Euler3DTransform()
    t.SetCenter((-centre[0], -centre[1], centre[2]))
    t.SetRotation(*(math.radians(a) for a in ROTATION_DEG))
    t.SetTranslation(TRANSLATION_MM)
    return t


@pytest.fixture(scope="module")
def moved_subject():
    subject = make_subject(phantom_grid((80, 80, 60)), seed=5, contrasts=("T1", "T2"))
    t2 = subject.images["T2"]
    motion = known_motion(t2)
    return subject, motion, resample_to(t2, t2, transform=motion)


@pytest.mark.parametrize("stages", [("rigid",), ("rigid", "affine")])
def test_known_rigid_motion_is_recovered(moved_subject, stages):
    subject, motion, moved = moved_subject
    t1 = subject.images["T1"]
    result = register(t1, moved, stages)
    # moved(x) = T2(motion(x)); registration finds R with moved(R(x)) = T1-space x, so motion(R(x)) = x.
    combined = sitk.CompositeTransform([motion, result.transform])
    voxels = np.argwhere(subject.masks["T1"].array > 0)[::97][:, ::-1]
    errors = []
    for ijk in voxels:
        ras = t1.ijk_to_ras @ np.r_[ijk, 1]
        lps = np.array((-ras[0], -ras[1], ras[2]))
        errors.append(np.linalg.norm(np.array(combined.TransformPoint(tuple(lps))) - lps))
    assert max(errors) < float(t1.spacing.min())  # within one voxel everywhere in the head
    matrix = np.array(result.transform.GetMatrix()).reshape(3, 3) @ np.array(motion.GetMatrix()).reshape(3, 3)
    residual = math.degrees(math.acos(np.clip((np.trace(matrix) - 1) / 2, -1, 1)))
    assert residual < 1.0
    expected = math.degrees(math.acos(np.clip((np.trace(np.array(motion.GetMatrix()).reshape(3, 3)) - 1) / 2, -1, 1)))
    assert result.rotation_deg == pytest.approx(expected, abs=1.0)
    q = result.quality
    assert q["mi_after"] > q["mi_before"] and q["dice_after"] > q["dice_before"] and q["dice_after"] > 0.95


def test_prepare_cli_writes_a_training_ready_folder_and_report(moved_subject, tmp_path, capsys):
    subject, _, moved = moved_subject
    raw, out = tmp_path / "raw", tmp_path / "prepared"
    raw.mkdir()
    write_volume(subject.images["T1"], raw / "sub01-T1.nii.gz")
    write_volume(moved, raw / "sub01-T2.nii.gz")
    assert main(["-q", "prepare", str(raw), str(out), "--rigid-only", "--crop"]) == 0
    t1, t2, mask = (read_volume(out / f"sub01-{c}.nii.gz") for c in ("T1", "T2", "mask"))
    assert t1.same_grid(t2) and t1.same_grid(mask)
    assert t1.array.shape != subject.images["T1"].array.shape  # cropped to the head
    truth = resample_to(subject.images["T2"], t1)
    inside = mask.array > 0
    unregistered = resample_to(moved, t1)
    after = np.corrcoef(truth.array[inside], t2.array[inside])[0, 1]
    before = np.corrcoef(truth.array[inside], unregistered.array[inside])[0, 1]
    assert after > 0.85 and after > before + 0.2, (before, after)
    with (out / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["contrast"] == "T2" and float(rows[0]["dice_after"]) > float(rows[0]["dice_before"])
    assert (out / "report" / "sub01-T2-checkerboard.png").stat().st_size > 10_000
    assert "mi_before" in capsys.readouterr().out
    # a second run would replace files: it must be asked for
    assert main(["-q", "prepare", str(raw), str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_prepare_reports_a_missing_reference(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    subject = make_subject(phantom_grid((24, 24, 20)), seed=1, contrasts=("T2",))
    write_volume(subject.images["T2"], raw / "s1-T2.nii.gz")
    assert main(["-q", "prepare", str(raw), str(tmp_path / "out")]) == 2
    assert "s1 has no T1" in capsys.readouterr().err


def test_ct_in_cormack_units_is_converted_to_hounsfield(tmp_path):
    from medsynth.core.intensity import cormack_to_hounsfield

    hu = np.array([-1000.0, -300.0, -100.0, 0.0, 37.0, 100.0, 400.0, 1500.0])
    cormack = hu + 1000 + 9 * np.clip(hu + 100, 0, 200)  # Rorden et al. 2012's forward transform
    np.testing.assert_allclose(cormack_to_hounsfield(cormack), hu, atol=1e-3)
    subject = make_subject(phantom_grid((32, 36, 24)), 3, 0, ("T1", "CT"))
    raw = tmp_path / "raw"
    raw.mkdir()
    write_volume(subject.images["T1"], raw / "s1-T1.nii.gz")
    ct = subject.images["CT"].array
    write_volume(subject.images["CT"].with_array(ct + 1000 + 9 * np.clip(ct + 100, 0, 200)), raw / "s1-CT.nii.gz")
    assert main(["-q", "prepare", str(raw), str(tmp_path / "out"), "--rigid-only", "--ct-units", "cormack"]) == 0
    prepared = read_volume(tmp_path / "out" / "s1-CT.nii.gz").array
    inside = subject.masks["CT"].array > 0
    assert abs(np.median(prepared[inside]) - np.median(ct[inside])) < 15  # back in HU (registration aside)
