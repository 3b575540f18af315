"""scripts/synthesize_batch.py with plain Python and slicer-core, as `Slicer --python-script` would run it."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from medsynth.io import read_volume
from medsynth.phantom import write_phantom_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "synthesize_batch.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_batch_synthesizes_compares_and_reports_failures(tmp_path):
    data = tmp_path / "data"
    write_phantom_dataset(data, 2, shape=(40, 44, 32), seed=9, contrasts=("T1", "T2"))
    out = tmp_path / "out"
    # as after `Slicer --python-script synthesize_batch.py -- ARGS`: the script takes what follows "--"
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
