"""Hardening, second round, classes 4 and 5: the phantom writer and data preparation refuse what they cannot do
in one line, never wrap an intensity around, and leave either everything or a consistent folder with a report."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from medsynth.cli.main import main
from medsynth.io import read_volume, write_volume
from medsynth.volume import Volume


def test_the_phantom_writer_refuses_a_file_a_read_only_place_and_absurd_noise(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    for out, said in ((tmp_path / "taken", "is a file; expected a folder for the phantom dataset"),
                      ("/proc/medsynth-phantom", "cannot create the folder (")):
        assert main(["phantom", str(out), "--subjects", "1", "--shape", "24", "24", "16"]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err
    assert main(["phantom", str(tmp_path / "noisy"), "--shape", "24", "24", "16", "--noise", "50"]) == 2
    assert "--noise must be 0 to 1 (a fraction of the brightest tissue), got 50.0" in capsys.readouterr().err
    assert not (tmp_path / "noisy").exists() and (tmp_path / "taken").read_text() == "not a folder"


def test_an_integer_output_is_held_to_its_range_not_wrapped(tmp_path, caplog):
    array = np.full((4, 5, 6), 1000.0, np.float32)
    array[0, 0, :3] = (40000.0, -40000.0, 12.6)
    with caplog.at_level(logging.WARNING):
        write_volume(Volume(array, np.eye(4)), tmp_path / "magnitude.nii.gz", dtype=np.int16)
    stored = read_volume(tmp_path / "magnitude.nii.gz").array
    assert stored[0, 0, :3].tolist() == [32767.0, -32768.0, 13.0] and stored.min() == -32768
    assert "magnitude.nii.gz: 2 voxel(s) beyond the int16 range [-32768, 32767] were held at its ends" in caplog.text


@pytest.fixture
def raw(tmp_path):
    """Three raw phantom subjects (T1, T2); the second one's T2 is a damaged file."""
    from medsynth.phantom import write_phantom_dataset

    folder = tmp_path / "raw"
    write_phantom_dataset(folder, 3, shape=(32, 36, 24), seed=4, contrasts=("T1", "T2"))
    (folder / "phantom002-T2.nii.gz").write_bytes(b"\x1f\x8b not a volume")
    return folder


def report_of(out):
    import csv

    with (out / "report.csv").open() as f:
        return {(r["subject"], r["contrast"]): r["status"] for r in csv.DictReader(f)}


def test_a_subject_that_fails_leaves_nothing_and_the_report_says_why(raw, tmp_path, capsys):
    out = tmp_path / "prepared"
    assert main(["-q", "prepare", str(raw), str(out), "--rigid-only"]) == 2
    err = capsys.readouterr().err
    assert "1 of 3 subject(s) could not be prepared (phantom002: " in err and "the other 2 are in" in err
    assert not list(out.glob("phantom002-*.nii.gz"))
    assert {p.name for p in out.glob("*.nii.gz")} == {f"phantom00{n}-{c}.nii.gz" for n in (1, 3)
                                                      for c in ("T1", "T2", "mask")}
    report = report_of(out)
    assert report[("phantom001", "T2")] == report[("phantom003", "T2")] == "prepared"
    assert report[("phantom002", "")].startswith("failed: ") and "phantom002-T2.nii.gz" in report[("phantom002", "")]


def test_an_interrupted_preparation_keeps_a_consistent_folder_and_report(raw, tmp_path, monkeypatch):
    import medsynth.prepare as prepare

    (raw / "phantom002-T2.nii.gz").write_bytes((raw / "phantom003-T2.nii.gz").read_bytes())  # readable again
    original = prepare.prepare_subject

    def interrupted(subject, *args):
        if subject == "phantom002":
            (args[2] / "phantom002-T1.nii.gz").write_bytes(b"half written")
            raise KeyboardInterrupt
        return original(subject, *args)

    monkeypatch.setattr(prepare, "prepare_subject", interrupted)
    out = tmp_path / "prepared"
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_dataset(raw, out, prepare.PrepareOptions(contrasts=["T2"], stages=("rigid",)))
    assert {p.name for p in out.glob("*.nii.gz")} == {"phantom001-T1.nii.gz", "phantom001-T2.nii.gz",
                                                      "phantom001-mask.nii.gz"}
    report = report_of(out)
    assert report[("phantom001", "T2")] == "prepared"
    stopped = "not prepared: stopped before this subject was done"
    assert report[("phantom002", "")] == report[("phantom003", "")] == stopped


@pytest.mark.parametrize(("flags", "said"), [(["--margin", "-3"], "--margin must be 0 to 256 voxels, got -3"),
                                             (["--margin", "100000"], "--margin must be 0 to 256 voxels")])
def test_prepare_options_out_of_range_are_refused(raw, tmp_path, capsys, flags, said):
    assert main(["-q", "prepare", str(raw), str(tmp_path / "out"), "--crop", *flags]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_mostly_empty_volume_costs_what_its_content_costs(tmp_path, caplog, monkeypatch):
    """Class 3: a small .nii.gz declaring a large, mostly empty volume (a decompression bomb below the voxel
    limit) is read with a warning saying the memory it needs, and synthesized within a few times its float32
    size (in-place intensity maps, head-mask cleaning inside the head's box only)."""
    import tracemalloc

    import medsynth.file_checks as file_checks
    import nibabel as nib
    from medsynth.checkpoint import load_model
    from medsynth.core.catalog import resolve_model
    from medsynth.inference import synthesize

    array = np.zeros((256, 256, 128), np.uint8)
    array[100:140, 100:150, 40:80] = 100
    array[110:120, 110:120, 50:60] = 40
    nib.save(nib.Nifti1Image(array, np.eye(4)), tmp_path / "bomb.nii.gz")
    assert (tmp_path / "bomb.nii.gz").stat().st_size < 100_000
    monkeypatch.setattr(file_checks, "LARGE_VOXELS", 1 << 20)
    with caplog.at_level(logging.WARNING):
        volume = read_volume(tmp_path / "bomb.nii.gz")
    assert "a large volume, 256x256x128 = 8,388,608 voxels; processing it needs about 0.2 GB" in caplog.text
    model = load_model(resolve_model("phantom-jointhist-T1-T2"))
    tracemalloc.start()
    try:
        out = synthesize(volume, model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.array.shape == volume.array.shape
    assert peak < 4 * volume.array.nbytes  # was 7x before the in-place maps and the boxed mask cleaning
