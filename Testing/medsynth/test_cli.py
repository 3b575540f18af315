"""The medsynth command: every subcommand, and a clear error for each kind of bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from medsynth.cli.main import main
from medsynth.core import catalog
from medsynth.core.errors import Cancelled
from medsynth.core.progress import CancelToken
from medsynth.io import read_volume, write_volume
from medsynth.phantom import make_subject, phantom_grid
from medsynth.pipeline import synthesize_file
from medsynth.volume import Volume

SHAPE = ["48", "56", "40"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantoms")
    assert main(["-q", "phantom", str(out), "--subjects", "1", "--shape", *SHAPE, "--seed", "3",
                 "--contrasts", "T1", "T2"]) == 0
    return out


def default_model() -> str:
    return catalog.default_model("T1", "T2").name


def test_phantom_command_writes_ixi_folder(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == [
        "phantom001-T1.nii.gz", "phantom001-T2.nii.gz", "phantom001-mask.nii.gz"]


def test_synthesize_then_evaluate(dataset, tmp_path, capsys):
    out = tmp_path / "syn-T2.nii.gz"
    assert main(["-q", "synthesize", str(dataset / "phantom001-T1.nii.gz"), str(out), "-m", default_model()]) == 0
    assert "T1->T2" in capsys.readouterr().out and out.exists()
    code = main(["-q", "evaluate", str(out), str(dataset / "phantom001-T2.nii.gz"),
                 "--mask", str(dataset / "phantom001-mask.nii.gz"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["mask_source"] == "given mask"  # by default both conventions, side by side
    assert all(5 < report[c]["mask"]["psnr"] < 40 for c in ("own-scale", "calibrated"))
    assert Path(report["csv"]).read_text().startswith(
        "metric,own-scale mask,calibrated mask,own-scale whole,calibrated whole\npsnr,")
    assert Path(report["mosaic"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run refuses to overwrite the reports unless asked
    assert main(["-q", "evaluate", str(out), str(dataset / "phantom001-T2.nii.gz")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["-q", "evaluate", str(out), str(dataset / "phantom001-T2.nii.gz"), "--overwrite"]) == 0
    assert "ssim_axial" in capsys.readouterr().out
    assert main(["-q", "evaluate", str(out), str(dataset / "phantom001-T2.nii.gz"), "--overwrite", "--json",
                 "--convention", "raw"]) == 0  # one convention: the mask and whole-image columns
    single = json.loads(capsys.readouterr().out)
    assert single["convention"] == "raw" and 10 < single["mask"]["psnr"] < 40


def test_evaluating_a_synthetic_ct_reports_bone_dice(tmp_path, capsys):
    from medsynth.metrics import bone_dice

    subject = make_subject(phantom_grid((40, 44, 32)), 4, 0, ("T1", "CT"))
    ct, mask = subject.images["CT"], subject.masks["CT"].array > 0
    assert bone_dice(ct.array, ct.array, mask) == 1.0
    assert bone_dice(np.full_like(ct.array, 40.0), ct.array, mask) == 0.0  # soft tissue everywhere: no bone found
    write_volume(ct, tmp_path / "s-CT.nii.gz")
    shifted = ct.with_array(np.roll(ct.array, 2, axis=2))  # bone a little off its place
    write_volume(shifted, tmp_path / "syn.nii.gz")
    assert main(["-q", "evaluate", str(tmp_path / "syn.nii.gz"), str(tmp_path / "s-CT.nii.gz"), "--json",
                 "--no-mosaic", "--convention", "raw"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bone_dice"]["threshold_hu"] == 300 and 0.05 < report["bone_dice"]["dice"] < 0.95
    assert main(["-q", "evaluate", str(tmp_path / "syn.nii.gz"), str(tmp_path / "s-CT.nii.gz"), "--no-mosaic",
                 "--overwrite", "--bone-dice", "800"]) == 0
    assert "bone Dice (HU > 800" in capsys.readouterr().out


def test_synthesize_with_uncertainty_writes_both_or_neither(dataset, tmp_path, capsys):
    source = str(dataset / "phantom001-T1.nii.gz")
    out, sd = tmp_path / "syn-T2.nii.gz", tmp_path / "syn-T2-sd.nrrd"
    assert main(["-q", "synthesize", source, str(out), "-m", "phantom-pgan-T1-T2", "--uncertainty", str(sd)]) == 0
    assert f"and its uncertainty {sd}" in capsys.readouterr().out
    image, spread = read_volume(out), read_volume(sd)
    assert spread.same_grid(image) and (spread.array >= 0).all() and spread.array.max() > 0
    assert (spread.array[image.array == image.array.min()] == 0).mean() > 0.9  # zero outside the head
    # a baseline's ensemble cannot disagree: refused before anything is written
    other, other_sd = tmp_path / "b.nii.gz", tmp_path / "b-sd.nii.gz"
    assert main(["-q", "synthesize", source, str(other), "-m", "phantom-jointhist-T1-T2",
                 "--uncertainty", str(other_sd)]) == 2
    assert "cannot disagree" in capsys.readouterr().err and not other.exists() and not other_sd.exists()
    assert main(["-q", "synthesize", source, str(other), "-m", "phantom-pgan-T1-T2", "--uncertainty",
                 str(other)]) == 2
    assert "needs another file" in capsys.readouterr().err and not other.exists()


def test_models_listing_and_card(capsys):
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert default_model() + " *" in listing and "phantom demo" in listing
    kinds = [k for line in listing.splitlines() for k in ("real data", "phantom demo", "baseline") if f" {k} " in line]
    assert kinds == sorted(kinds, key=["real data", "phantom demo", "baseline"].index)  # real data first
    assert main(["models", "--source", "T2", "--target", "T1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(m["card"]["source_contrast"] == "T2" for m in listed)
    assert main(["models", default_model(), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target_contrast"] == "T2"


def test_demo_writes_everything(tmp_path, capsys):
    assert main(["-q", "demo", "--out", str(tmp_path / "demo"), "--shape", *SHAPE, "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "model: phantom-pgan-T1-T2 (pgan, T1->T2)" in text  # a trained generator, not a baseline
    for name in ("demo-T2-synthetic.nii.gz", "difference.png", "metrics.csv", "demo-T1.nii.gz"):
        assert (tmp_path / "demo" / name).exists() and str(tmp_path / "demo" / name) in text


def test_help_explains_every_option(capsys):
    for command in ("phantom", "prepare", "synthesize", "evaluate", "models", "train", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        options = [w for w in text.split() if w.startswith("--") and w != "--help"]
        assert options, command
    # every option line has a description (argparse prints help text after the option)
    assert "%(default)" not in text


# --- bad input: one test per case, each with a clear message, exit code 2, and no output file ---------

def run_bad(tmp_path, capsys, input_path, *extra, output=None):
    output = output or tmp_path / "out.nii.gz"
    code = main(["-q", "synthesize", str(input_path), str(output), "-m", default_model(), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("medsynth: error: ") and "Traceback" not in err
    return err, output


def write_raw(path, array, vector=False):
    image = sitk.GetImageFromArray(array, isVector=vector)
    sitk.WriteImage(image, str(path))
    return path


def test_missing_file(tmp_path, capsys):
    err, out = run_bad(tmp_path, capsys, tmp_path / "nothing.nii.gz")
    assert "nothing.nii.gz: volume file not found" in err and not out.exists()


def test_corrupt_file(tmp_path, capsys):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b this is not a volume")
    err, out = run_bad(tmp_path, capsys, bad)
    assert "bad.nii.gz: cannot read the file (corrupt or not a volume)" in err and not out.exists()


def test_unsupported_format(tmp_path, capsys):
    png = tmp_path / "slice.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    err, _ = run_bad(tmp_path, capsys, png)
    assert "slice.png: unsupported file format; expected one of .nii.gz, .nii" in err


def test_2d_image(tmp_path, capsys):
    err, _ = run_bad(tmp_path, capsys, write_raw(tmp_path / "flat.nii.gz", np.ones((20, 30), np.float32)))
    assert "is a 2D image of size 30x20; expected a 3D volume" in err


def test_single_slice_volume(tmp_path, capsys):
    err, _ = run_bad(tmp_path, capsys, write_raw(tmp_path / "one.nrrd", np.ones((1, 20, 30), np.float32)))
    assert "is a 3D image of size 30x20x1; expected a 3D volume with at least 2 voxels along each axis" in err


def test_4d_volume(tmp_path, capsys):
    err, _ = run_bad(tmp_path, capsys, write_raw(tmp_path / "dwi.nii.gz", np.ones((3, 4, 5, 6), np.float32)))
    assert "is 4D (6x5x4x3, e.g. a time series or DWI); expected a single 3D volume" in err


def test_vector_volume(tmp_path, capsys):
    rgb = write_raw(tmp_path / "rgb.nrrd", np.ones((4, 5, 6, 3), np.float32), vector=True)
    err, _ = run_bad(tmp_path, capsys, rgb)
    assert "has 3 components per voxel (vector or RGB image); expected a scalar volume" in err


@pytest.mark.parametrize("ext", [".nii.gz", ".nrrd"])  # ITK's NIfTI reader hides NaN: checked separately
def test_nan_voxels(tmp_path, capsys, ext):
    data = np.random.default_rng(0).random((10, 12, 14)).astype(np.float32)
    data[2, 3, 4] = np.nan
    data[5, 5, 5] = np.inf
    err, _ = run_bad(tmp_path, capsys, write_volume(Volume.from_geometry(data), tmp_path / f"nan{ext}"))
    assert "contains 2 NaN or infinite voxels; expected finite intensities" in err


def test_constant_volume(tmp_path, capsys):
    flat = write_volume(Volume.from_geometry(np.zeros((10, 12, 14), np.float32)), tmp_path / "empty.mha")
    err, _ = run_bad(tmp_path, capsys, flat)
    assert "every voxel has the value 0 (empty or constant volume)" in err


def test_model_for_another_source_contrast(dataset, tmp_path, capsys):
    err, out = run_bad(tmp_path, capsys, dataset / "phantom001-T2.nii.gz")  # file name says T2
    assert "is T2, but model" in err and "expects a T1 input" in err and not out.exists()
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", "--input-contrast", "PD")
    assert "is PD, but model" in err


def test_unwritable_output(dataset, tmp_path, capsys):
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", output=Path("/proc/out.nii.gz"))
    assert "/proc: cannot write here" in err
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", output=tmp_path / "no/such/out.nii.gz")
    assert "output folder does not exist" in err


def test_existing_output_needs_overwrite(dataset, tmp_path, capsys):
    out = tmp_path / "out.nii.gz"
    out.write_bytes(b"precious")
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", output=out)
    assert "already exists; pass --overwrite" in err and out.read_bytes() == b"precious"
    assert main(["-q", "synthesize", str(dataset / "phantom001-T1.nii.gz"), str(out), "-m", default_model(),
                 "--overwrite"]) == 0
    assert out.read_bytes() != b"precious"


def test_unknown_model_and_pickle_model(dataset, tmp_path, capsys):
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", "-m", "no-such-model")
    assert "no model named 'no-such-model'" in err
    pt = tmp_path / "model.pth"
    pt.write_bytes(b"\x80\x04\x95 pickle bytes")
    err, _ = run_bad(tmp_path, capsys, dataset / "phantom001-T1.nii.gz", "-m", str(pt))
    assert "pickle checkpoint" in err


def test_crash_while_writing_leaves_nothing(dataset, tmp_path, monkeypatch):
    def half_write(image, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sitk, "WriteImage", half_write)
    with pytest.raises(Exception, match="writing failed: disk full"):
        synthesize_file(dataset / "phantom001-T1.nii.gz", tmp_path / "out.nii.gz", default_model())
    assert list(tmp_path.iterdir()) == []


def test_cancel_leaves_no_output(dataset, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        synthesize_file(dataset / "phantom001-T1.nii.gz", tmp_path / "out.nii.gz", default_model(), cancel=token)
    assert list(tmp_path.iterdir()) == []


def test_console_script_reports_errors_without_traceback(tmp_path):
    script = Path(sys.executable).with_name("medsynth")
    result = subprocess.run([str(script), "synthesize", str(tmp_path / "x.nii.gz"), str(tmp_path / "y.nii.gz"),
                             "-m", default_model()], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "file not found" in result.stderr and "Traceback" not in result.stderr


def test_phantom_grid_from_cli_is_exact(tmp_path):
    assert main(["-q", "phantom", str(tmp_path), "--shape", "20", "24", "16", "--spacing", "2", "2.5", "3",
                 "--contrasts", "CT"]) == 0
    image = sitk.ReadImage(str(tmp_path / "phantom001-CT.nii.gz"))
    assert image.GetSize() == (20, 24, 16) and image.GetSpacing() == pytest.approx((2, 2.5, 3))
    reference = make_subject(phantom_grid((20, 24, 16), (2, 2.5, 3)), 0, 0, ("CT",)).images["CT"]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), np.rint(reference.array).astype(np.int16))


def test_evaluate_folders_gives_per_subject_rows_and_mean_sd(tmp_path, capsys):
    ref, syn, masks = tmp_path / "ref", tmp_path / "syn", tmp_path / "masks"
    for folder in (ref, syn, masks):
        folder.mkdir()
    grid = phantom_grid((32, 32, 24))
    for i in range(3):
        subj = make_subject(grid, 9, i, ("T2",))
        write_volume(subj.images["T2"], ref / f"s{i}.nii.gz")
        write_volume(subj.images["T2"].with_array(subj.images["T2"].array + 10.0 * (i + 1)), syn / f"s{i}.nii.gz")
        write_volume(subj.masks["T2"], masks / f"s{i}.nii.gz")
    assert main(["-q", "evaluate", str(syn), str(ref), "--mask", str(masks), "--json", "--convention", "raw"]) == 0
    report = json.loads(capsys.readouterr().out)
    mae = {(r[0], r[2]): r[report["header"].index("mae")] for r in report["rows"]}
    assert [mae[(f"s{i}", "mask")] for i in range(3)] == pytest.approx([10.0, 20.0, 30.0], rel=1e-4)
    assert mae[("mean", "mask")] == pytest.approx(20.0, rel=1e-4)
    assert mae[("sd", "mask")] == pytest.approx(10.0, rel=1e-4)
    assert (syn / "metrics.csv").exists()
    assert main(["-q", "evaluate", str(syn), str(ref), "--mask", str(masks), "--json", "--overwrite"]) == 0
    both = json.loads(capsys.readouterr().out)  # the default: every subject under both conventions
    assert {(r[0], r[1]) for r in both["rows"] if r[2] == "mask"} >= {("s0", "own-scale"), ("s0", "calibrated"),
                                                                       ("mean", "own-scale"), ("sd", "calibrated")}
    assert main(["-q", "evaluate", str(syn), str(tmp_path / "masks" / "s0.nii.gz")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_patch_options_accept_full_for_a_single_pass():
    from medsynth.cli.common import inference_options
    from medsynth.cli.main import build_parser

    args = build_parser().parse_args(["synthesize", "in.nii.gz", "out.nii.gz", "--model", "m", "--stride", "full"])
    options = inference_options(args)
    assert (options.stride, options.patch_size, options.blend) == ("full", None, None)
    args = build_parser().parse_args(["synthesize", "in.nii.gz", "out.nii.gz", "--model", "m", "--stride", "8",
                                      "--patch-size", "full", "--blend", "mean"])
    assert (args.stride, args.patch_size, args.blend) == (8, "full", "mean")


def test_every_inference_setting_has_one_flag_and_a_settings_file_is_checked(tmp_path):
    from dataclasses import fields

    from medsynth.cli.common import inference_options
    from medsynth.cli.main import build_parser
    from medsynth.core.errors import ConfigError
    from medsynth.core.options import write_options
    from medsynth.inference import InferenceOptions

    base = ["synthesize", "in.nii.gz", "out.nii.gz", "--model", "m"]
    args = build_parser().parse_args([*base, "--margin", "3", "--no-calibrate", "--uncertainty-method", "intensity"])
    options = inference_options(args)
    assert (options.margin, options.calibrate, options.uncertainty) == (3, False, "intensity")
    assert inference_options(build_parser().parse_args(base)) == InferenceOptions()
    assert all(item.metadata["help"] for item in fields(InferenceOptions))
    path = tmp_path / "options.json"
    write_options(InferenceOptions(axis="coronal", stride="full", batch_size=2), path)
    assert inference_options(build_parser().parse_args([*base, "--options-file", str(path)])) == InferenceOptions(
        axis="coronal", stride="full", batch_size=2)
    path.write_text('{"axis": "coronal", "speed": 3}')
    with pytest.raises(ConfigError, match=r"unknown inference settings \['speed'\]"):
        inference_options(build_parser().parse_args([*base, "--options-file", str(path)]))
    path.write_text('{"batch_size": 0}')
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        inference_options(build_parser().parse_args([*base, "--options-file", str(path)]))
