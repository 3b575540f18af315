"""The batch script shipped with the extension, with plain Python and slicer-core, as `Slicer --python-script`
would run it: every volume tried, metrics.csv written for the ones done, an exit status always."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from medsynth.io import read_volume
from medsynth.phantom import write_phantom_dataset
from scripts_under_test import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "MedSynth" / "Resources" / "Scripts" / "SynthesizeBatch.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.torch
def test_batch_synthesizes_compares_and_reports_failures(tmp_path):
    data = tmp_path / "data"
    write_phantom_dataset(data, 2, shape=(40, 44, 32), seed=9, contrasts=("T1", "T2"))
    out = tmp_path / "out"
    # the script also takes its arguments after a "--"
    done = run("--", data, "--glob", "*-T1.nii.gz", "--model", "phantom-jointhist-T1-T2", "--out", out,
               "--reference-replace", "T1", "T2", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    for n in (1, 2):
        synthetic = read_volume(out / f"phantom00{n}-T1-synthetic-T2.nii.gz")
        assert synthetic.same_grid(read_volume(data / f"phantom00{n}-T1.nii.gz"))
        assert (out / f"phantom00{n}-T1-synthetic-T2-minus-phantom00{n}-T2.nii.gz").is_file()
    with (out / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["input"]).name for r in rows] == ["phantom001-T1.nii.gz", "phantom002-T1.nii.gz"]
    assert all(10 < float(r["psnr"]) < 60 and 0 < float(r["ssim_3d"]) <= 1 for r in rows)

    (data / "phantom002-T2.nii.gz").unlink()  # one reference missing: the other volume is still done
    failed = run(data, "--glob", "*-T1.nii.gz", "--model", "phantom-jointhist-T1-T2", "--out", tmp_path / "again",
                 "--reference-replace", "T1", "T2", "--device", "cpu")
    assert failed.returncode == 1
    assert "synthesize_batch: error:" in failed.stderr and "phantom002-T2.nii.gz" in failed.stderr
    assert (tmp_path / "again" / "phantom001-T1-synthetic-T2.nii.gz").is_file()
    empty = run(tmp_path / "nothing-here.txt", "--model", "phantom-jointhist-T1-T2", "--out", tmp_path / "x")
    assert empty.returncode == 1 and "nothing-here.txt" in empty.stderr


@pytest.mark.torch
def test_any_error_of_one_volume_is_reported_and_the_rest_still_done(tmp_path, monkeypatch, caplog):
    data = tmp_path / "data"
    write_phantom_dataset(data, 3, shape=(32, 36, 24), seed=4, contrasts=("T1", "T2"))
    script = load_script(SCRIPT)
    real = script.process

    def flaky(path, args, scene):
        if "phantom002" in path.name:
            raise RuntimeError("CUDA out of memory")  # not a MedSynthError: still one line, and the batch goes on
        return real(path, args, scene)

    monkeypatch.setattr(script, "process", flaky)
    arguments = [str(data), "--glob", "*-T1.nii.gz", "--model", "phantom-jointhist-T1-T2", "--out", str(tmp_path / "o"),
                 "--reference-replace", "T1", "T2", "--device", "cpu"]
    assert script.run(arguments) == 1
    assert "phantom002-T1.nii.gz: CUDA out of memory" in caplog.text
    with (tmp_path / "o" / "metrics.csv").open() as f:
        assert [Path(r["input"]).name for r in csv.DictReader(f)] == ["phantom001-T1.nii.gz", "phantom003-T1.nii.gz"]

    def interrupted(path, args, scene):
        if "phantom002" in path.name:
            raise KeyboardInterrupt
        return real(path, args, scene)

    monkeypatch.setattr(script, "process", interrupted)
    arguments[arguments.index("--out") + 1] = str(tmp_path / "p")
    assert script.run(arguments) == 1  # an exit status, never a hang
    with (tmp_path / "p" / "metrics.csv").open() as f:  # what was done before the interruption is kept
        assert [Path(r["input"]).name for r in csv.DictReader(f)] == ["phantom001-T1.nii.gz"]


def test_inside_slicer_the_script_always_ends_the_application_with_its_status(monkeypatch, tmp_path):
    import runpy
    import types

    import slicer

    exits = []
    monkeypatch.setattr(slicer, "app", types.SimpleNamespace(), raising=False)
    monkeypatch.setattr(slicer.util, "exit", exits.append, raising=False)
    for argv, status in (([str(SCRIPT), "--help"], 0), ([str(SCRIPT), "--no-such-option"], 2),
                         ([str(SCRIPT), str(tmp_path / "none.txt"), "--model", "x", "--out", str(tmp_path)], 1)):
        monkeypatch.setattr(sys, "argv", argv)
        runpy.run_path(str(SCRIPT), run_name="__main__")
        assert exits[-1] == status, argv
