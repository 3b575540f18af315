"""Hostile files and careless use, class by class: each ends in one clear `medsynth: error:` line, exit 2, with
nothing lost (no input replaced, no partial output), and nothing read outside the input."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from medsynth.cli.main import main
from medsynth.core.errors import InputError, ModelError
from medsynth.io import read_volume, write_volume
from medsynth.phantom import make_subject, phantom_grid
from medsynth.volume import Volume

MODEL = "phantom-jointhist-T1-T2"


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subject")
    images = make_subject(phantom_grid((32, 36, 28)), seed=1, contrasts=("T1", "T2")).images
    for contrast, image in images.items():
        write_volume(image, folder / f"sub-{contrast}.nii.gz")
    return folder


def fails(capsys, *argv) -> str:
    code = main(["-q", *map(str, argv)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("medsynth: error: ") and "Traceback" not in err, err
    assert err.count("\n") == 1, err  # one line
    return err


def nifti_bytes(shape=(20, 22, 18), dtype=np.int16) -> bytearray:
    image = nib.Nifti1Image((np.arange(np.prod(shape)) % 900).reshape(shape).astype(dtype), np.eye(4))
    return bytearray(image.to_bytes())


# --- data loss -----------------------------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused_whatever_overwrite_says(subject, tmp_path, capsys):
    t1, t2 = subject / "sub-T1.nii.gz", subject / "sub-T2.nii.gz"
    before = t1.read_bytes()
    link = tmp_path / "link.nii.gz"
    link.symlink_to(t1)
    cases = [
        ("synthesize", t1, t1, "--model", MODEL, "--overwrite"),
        ("synthesize", t1, link, "--model", MODEL, "--overwrite"),  # a link to the input
        ("evaluate", t1, t2, "--csv", t2, "--overwrite"),  # CSV over the reference
        ("evaluate", t1, t2, "--mosaic", t1, "--csv", tmp_path / "m.csv", "--overwrite"),  # PNG over the synthetic
    ]
    for case in cases:
        assert "writing it would destroy the input" in fails(capsys, *case)
    assert t1.read_bytes() == before and t2.stat().st_size > 0 and not (tmp_path / "m.csv").exists()


def test_a_header_and_its_data_file_are_one_output(subject, tmp_path, capsys):
    volume = read_volume(subject / "sub-T1.nii.gz")
    other = write_volume(volume, tmp_path / "other.mhd")  # other.mhd + other.zraw
    os.replace(tmp_path / "other.zraw", tmp_path / "scan.zraw")  # another volume's data file named scan.zraw
    (tmp_path / "other.mhd").write_text(other.read_text().replace("other.zraw", "scan.zraw"))
    kept = (tmp_path / "scan.zraw").read_bytes()
    err = fails(capsys, "synthesize", subject / "sub-T1.nii.gz", tmp_path / "scan.mhd", "--model", MODEL)
    assert "would replace scan.zraw" in err and (tmp_path / "scan.zraw").read_bytes() == kept
    assert read_volume(tmp_path / "other.mhd").array.shape == volume.array.shape  # still readable
    nrrd = write_volume(volume, tmp_path / "n.nhdr")
    assert (tmp_path / "n.raw.gz").is_file() and read_volume(nrrd).same_grid(volume)
    assert main(["-q", "synthesize", str(nrrd), str(tmp_path / "n2.nhdr"), "--model", MODEL]) == 0
    assert (tmp_path / "n2.raw.gz").is_file() and read_volume(tmp_path / "n2.nhdr").same_grid(volume)


# --- reading outside the input, and resource exhaustion ------------------------------------------------


def metaimage(folder: Path, data_file: str) -> Path:
    header = folder / "evil.mhd"
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_UCHAR\n"
                      f"ElementDataFile = {data_file}\n")
    return header


@pytest.mark.parametrize("data_file", ["/etc/passwd", "../../secret.raw", "/dev/zero", "LIST", "slice%03d.raw"])
def test_metaimage_data_files_outside_the_header_folder_are_never_read(tmp_path, data_file):
    (tmp_path.parent / "secret.raw").write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match="outside the header's folder|list or pattern|is a device"):
        read_volume(metaimage(tmp_path, data_file))


def test_nrrd_detached_headers_are_held_to_the_same_rule(tmp_path):
    (tmp_path.parent / "secret.raw").write_bytes(b"\0" * 64)
    header = tmp_path / "evil.nhdr"
    header.write_text("NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n"
                      "data file: ../secret.raw\n\n")
    with pytest.raises(InputError, match="outside the header's folder"):
        read_volume(header)
    header.write_text(header.read_text().replace("../secret.raw", "/dev/urandom"))
    with pytest.raises(InputError, match="outside the header's folder|is a device"):
        read_volume(header)


def test_declared_sizes_are_checked_before_any_memory_is_allocated(tmp_path, monkeypatch):
    header = nib.Nifti1Header()
    header.set_data_shape((2000, 2000, 2000))
    header.set_data_dtype(np.float32)
    with gzip.open(tmp_path / "bomb.nii.gz", "wb") as f:  # 4 MB of zeros: a few KB compressed
        f.write(header.binaryblock + b"\0" * 4 + b"\0" * (4 << 20))
    with pytest.raises(InputError, match=r"8,000,000,000 voxels .* over the limit"):
        read_volume(tmp_path / "bomb.nii.gz")
    small = nifti_bytes()
    (tmp_path / "short.nii").write_bytes(small[: len(small) // 2])  # the data is half absent
    with pytest.raises(InputError, match="holds 7,744 bytes of image data where its header declares 15,840"):
        read_volume(tmp_path / "short.nii")
    (tmp_path / "short.nii.gz").write_bytes(gzip.compress(bytes(small))[:2000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_volume(tmp_path / "short.nii.gz")
    (tmp_path / "ok.nii").write_bytes(small)
    monkeypatch.setenv("MEDSYNTH_MAX_VOXELS", "1000")
    with pytest.raises(InputError, match=r"over the limit of 1,000; set \$MEDSYNTH_MAX_VOXELS"):
        read_volume(tmp_path / "ok.nii")
    monkeypatch.setenv("MEDSYNTH_MAX_VOXELS", "100000")
    assert read_volume(tmp_path / "ok.nii").array.shape == (18, 22, 20)


def test_absurd_phantom_and_demo_shapes_are_refused_with_the_memory_they_need(tmp_path, capsys):
    for command in (["phantom", tmp_path / "p", "--shape", 5000, 5000, 5000],
                    ["demo", "--out", tmp_path / "d", "--shape", 5000, 5000, 5000]):
        err = fails(capsys, *command)
        assert "would need about 5,588 GiB of memory" in err
    assert not (tmp_path / "p").exists() and not (tmp_path / "d").exists()


# --- hangs ----------------------------------------------------------------------------------------------


def test_non_regular_files_are_refused_up_front(subject, tmp_path):
    fifo = tmp_path / "pipe.nii.gz"
    os.mkfifo(fifo)
    model = tmp_path / "model.safetensors"
    os.mkfifo(model)
    config = tmp_path / "config.yaml"
    os.mkfifo(config)
    t1, t2 = subject / "sub-T1.nii.gz", subject / "sub-T2.nii.gz"
    cases = [  # each would block forever on open() or read()
        ["synthesize", fifo, tmp_path / "o.nii.gz", "--model", MODEL],
        ["evaluate", t1, fifo, "--no-mosaic", "--csv", tmp_path / "a.csv"],
        ["evaluate", t1, t2, "--mask", fifo, "--no-mosaic", "--csv", tmp_path / "b.csv"],
        ["synthesize", t1, tmp_path / "o.nii.gz", "--model", model],
        ["synthesize", "/dev/zero", tmp_path / "o.nii.gz", "--model", MODEL],
        ["train", "--config", config, "--data", subject, "--out", tmp_path / "run"],
    ]
    for case in cases:
        done = subprocess.run([sys.executable, "-m", "medsynth.cli.main", "-q", *map(str, case)],
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode == 2 and "named pipe (FIFO)" in done.stderr) or "is a device" in done.stderr, done
        assert done.stderr.count("\n") == 1


# --- hostile or careless model cards -------------------------------------------------------------------


def card_dict(**changes):
    from medsynth.core.catalog import load_catalog

    card = next(e.card for e in load_catalog() if e.name == "phantom-pgan-T1-T2").to_dict()
    for key, value in changes.items():
        node, *path = key.split(".")
        if path:
            card[node] = {**card[node], path[0]: value}
        else:
            card[node] = value
    return card


@pytest.mark.parametrize(("changes", "message"), [
    ({"hyperparameters.ngf": 1e6}, "hyperparameter ngf = 1000000.0"),
    ({"hyperparameters.n_blocks": 100000}, "hyperparameter n_blocks = 100000"),
    ({"inference.context": 10**7}, "inference.context must be 0 to 16 slices"),
    ({"inference.patch_size": 4096}, "inference.patch_size must be 8 to 512"),
    ({"inference.stride": 0}, "inference.stride must be 1 to 512"),
    ({"inference.blend": "max"}, "inference.blend must be one of"),
    ({"architecture": ["pgan"]}, "architecture must be a string, got a list"),
    ({"hyperparameters": [1, 2]}, "hyperparameters must be an object"),
    ({"inference": [1]}, "inference must be an object"),
    ({"metrics": "good"}, "metrics must be an object"),
    ({"training": 3}, "training must be an object"),
    ({"name": 5}, "name must be a string"),
    ({"engine": "patchwise"}, "architecture 'pgan' runs slicewise but the card declares engine patchwise"),
    ({"architecture": "nie", "hyperparameters": {}}, "architecture 'nie' runs patchwise but the card declares engine "
                                                     "slicewise"),
    ({"engine": "voxels"}, "engine must be one of voxelwise, slicewise, patchwise"),
    ({"architecture": "patchgan"}, "unknown architecture 'patchgan'"),  # a discriminator is not a model
    ({"source_normalization": {"kind": "minmax", "percentiles": [-5, 120]}}, "percentiles must be"),
    ({"target_intensity": {"kind": "minmax", "params": {"lo": 0.0, "hi": 1e300}, "background": 0.0}},
     "hi must be a finite number"),
])
def test_every_card_field_is_checked_before_anything_is_built(changes, message):
    from medsynth.core.card import ModelCard

    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelCard.from_dict(card_dict(**changes))


def test_a_format_1_card_reads_with_its_engine_and_a_broken_one_is_refused():
    from medsynth.core.card import CARD_FORMAT, ModelCard

    legacy = {k: v for k, v in card_dict(format=1).items() if k != "engine"}
    for dims, engine in ((2, "slicewise"), (0, "voxelwise")):
        arch = {2: "pgan", 0: "identity"}[dims]
        card = ModelCard.from_dict({**legacy, "spatial_dims": dims, "architecture": arch,
                                    "hyperparameters": {} if dims == 0 else legacy["hyperparameters"]})
        assert (card.engine, card.format, card.spatial_dims) == (engine, CARD_FORMAT, None if dims == 0 else 2)
    for dims in (True, 1, "2"):
        with pytest.raises(ModelError, match="spatial_dims must be one of"):
            ModelCard.from_dict({**legacy, "spatial_dims": dims})


def test_json_that_is_not_strict_or_nested_too_deeply_is_refused():
    from medsynth.core.card import ModelCard

    with pytest.raises(ModelError, match="nested"):
        ModelCard.from_json("[" * 100000 + "]" * 100000)
    with pytest.raises(ModelError, match="NaN is not a JSON number"):
        ModelCard.from_json('{"name": NaN}')
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    text = json.dumps(card_dict(metrics={"deep": deep}))
    with pytest.raises(ModelError, match="nested more than 32 levels"):
        ModelCard.from_json(text)


@pytest.mark.parametrize("text", ["[]", '{"format": 1, "models": [3]}', '{"format": 1, "models": [{"name": "x"}]}',
                                  '{"format": 1, "models": [{"name": "x", "file": "../../m.safetensors", '
                                  '"sha256": "0", "card": {}}]}', "{"])
def test_a_malformed_catalog_is_one_clear_error(tmp_path, text):
    from medsynth.core.catalog import load_catalog

    (tmp_path / "catalog.json").write_text(text)
    with pytest.raises(ModelError, match=r"catalog\.json"):
        load_catalog(tmp_path)


def test_weights_are_checked_against_the_card_in_the_header_before_loading(tmp_path):
    """int8 or bool tensors where floats belong, a card whose network does not fit its tensors."""
    from medsynth.checkpoint import load_model
    from medsynth.core.card import ModelCard
    from medsynth.core.model_file import CARD_KEY
    from safetensors.numpy import save_file

    card = ModelCard.from_dict(card_dict(**{"hyperparameters.ngf": 4, "hyperparameters.n_blocks": 1}))
    import torch
    from medsynth.checkpoint import build_from_card

    state = {k: v.numpy() for k, v in build_from_card(card).state_dict().items()}
    name = next(k for k, v in state.items() if v.dtype == np.float32)
    for bad in (np.int8, np.bool_):
        save_file({**state, name: state[name].astype(bad)}, str(tmp_path / "m.safetensors"),
                  metadata={CARD_KEY: card.to_json()})
        with pytest.raises(ModelError, match=f"weights of the wrong type .*{name}"):
            load_model(tmp_path / "m.safetensors")
    wider = ModelCard.from_dict(card_dict(**{"hyperparameters.ngf": 8, "hyperparameters.n_blocks": 1}))
    save_file(state, str(tmp_path / "m.safetensors"), metadata={CARD_KEY: wider.to_json()})
    with pytest.raises(ModelError, match=r"weights do not match the architecture .* wrong shapes"):
        load_model(tmp_path / "m.safetensors")
    huge = ModelCard.from_dict(card_dict(**{"hyperparameters.ngf": 512, "hyperparameters.n_blocks": 64}))
    save_file(state, str(tmp_path / "m.safetensors"), metadata={CARD_KEY: huge.to_json()})
    with pytest.raises(ModelError, match=r"a network of 4,879,341,569 parameters, over the limit"):
        load_model(tmp_path / "m.safetensors")  # sized on the meta device: the 20 GB were never allocated
    assert torch.empty(0).device.type == "cpu"


def test_a_length_field_starting_with_0x80_is_not_called_a_pickle(tmp_path):
    from medsynth.core.model_file import read_card

    (tmp_path / "x.safetensors").write_bytes(b"\x80\x01" + b"\0" * 30)
    with pytest.raises(ModelError, match="not a safetensors file") as error:
        read_card(tmp_path / "x.safetensors")
    assert "pickle" not in str(error.value)
    (tmp_path / "p.safetensors").write_bytes(b"\x80\x04\x95" + b"\0" * 30)  # pickle protocol 4
    with pytest.raises(ModelError, match="PyTorch pickle checkpoint"):
        read_card(tmp_path / "p.safetensors")


# --- volumes a user might really give ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 3, 3), (2, 40, 40), (4, 40, 40), (40, 40, 3)])
@pytest.mark.parametrize("model", ["phantom-pgan-T1-T2", "phantom-nie-PD-T2", MODEL])
def test_tiny_volumes_and_thin_slabs_give_working_output(tmp_path, capsys, shape, model):
    array = (np.random.default_rng(0).random(shape) * 800).astype(np.float32)
    write_volume(Volume.from_geometry(array), tmp_path / "in.nii.gz")
    assert main(["-q", "synthesize", str(tmp_path / "in.nii.gz"), str(tmp_path / "out.NII.GZ"), "--model", model,
                 "--device", "cpu"]) == 0, capsys.readouterr().err
    out = read_volume(tmp_path / "out.NII.GZ")  # an upper-case extension is a legitimate output name
    assert out.array.shape == shape and np.isfinite(out.array).all()


def test_broken_nifti_headers_are_refused_not_repaired_silently(tmp_path):
    data = nifti_bytes()
    zero = bytearray(data)
    struct.pack_into("<3f", zero, 80, 0.0, 1.0, 1.0)  # pixdim[1..3]
    (tmp_path / "zero.nii").write_bytes(zero)
    nan = bytearray(data)
    struct.pack_into("<3f", nan, 80, 1.0, float("nan"), 1.0)
    (tmp_path / "nan.nii").write_bytes(nan)
    flat = bytearray(data)
    struct.pack_into("<hh", flat, 252, 0, 2)  # sform_code 2 with an all-zero sform
    struct.pack_into("<12f", flat, 280, *([0.0] * 12))
    (tmp_path / "flat.nii").write_bytes(flat)
    for name, message in (("zero", r"pixdim\) is \[0.0, 1.0, 1.0\]"), ("nan", r"pixdim\) is \[1.0, nan, 1.0\]"),
                          ("flat", "orientation matrix .* is degenerate")):
        with pytest.raises(InputError, match=message):
            read_volume(tmp_path / f"{name}.nii")


def test_float64_beyond_float32_says_what_is_wrong(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.full((8, 8, 8), 1e300) * np.arange(8)), str(tmp_path / "big.nrrd"))
    with pytest.raises(InputError, match=r"values up to 7e\+300, beyond the float32 range"):
        read_volume(tmp_path / "big.nrrd")


# --- evaluate -------------------------------------------------------------------------------------------


def test_evaluate_refuses_what_it_cannot_measure(subject, tmp_path, capsys):
    t1, t2 = subject / "sub-T1.nii.gz", subject / "sub-T2.nii.gz"
    assert "output folder does not exist" in fails(capsys, "evaluate", t1, t2, "--csv", tmp_path / "no" / "m.csv")
    assert "is a folder" in fails(capsys, "evaluate", t1, t2, "--csv", tmp_path)
    for value in ("0", "-1", "nan", "inf"):
        assert "--data-range must be a positive, finite number" in fails(
            capsys, "evaluate", t1, t2, f"--data-range={value}", "--csv", tmp_path / "m.csv")
    assert "expected a binary mask" in fails(capsys, "evaluate", t1, t2, "--mask", t2, "--csv", tmp_path / "m.csv")
    far = read_volume(t2)
    far.ijk_to_ras[0, 3] += 1000.0  # 1 m away
    write_volume(far, tmp_path / "far.nii.gz")
    assert "covers 0% of the synthetic volume's field of view" in fails(
        capsys, "evaluate", t1, tmp_path / "far.nii.gz", "--csv", tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()


def test_evaluate_json_is_strict_json_with_notes(subject, tmp_path, capsys):
    t2 = subject / "sub-T2.nii.gz"
    assert main(["-q", "evaluate", str(t2), str(t2), "--json", "--no-mosaic", "--csv", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    assert "Infinity" not in text and "NaN" not in text
    report = json.loads(text)
    assert report["own-scale"]["mask"]["psnr"] is None and "identical" in report["notes"]["own-scale.mask.psnr"]


# --- wrong results accepted with exit 0: a full disk ---------------------------------------------------


def run_with_file_size_limit(limit: int, *argv) -> subprocess.CompletedProcess:
    """medsynth with writes failing past ``limit`` bytes (EFBIG), as on a full disk."""
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            "from medsynth.cli.main import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, "-q", *map(str, argv)], capture_output=True, text=True,
                          timeout=300)


def test_a_full_disk_fails_clearly_and_leaves_nothing(subject, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = run_with_file_size_limit(20_000, "synthesize", subject / "sub-T1.nii", out / "syn.nii", "--model", MODEL)
    assert done.returncode == 2 and "writing failed" in done.stderr, done.stderr
    assert list(out.iterdir()) == []  # no short file, no temporary folder
    done = run_with_file_size_limit(20_000, "phantom", tmp_path / "ph", "--shape", 48, 48, 40)
    assert done.returncode == 2 and not (tmp_path / "ph").exists(), done.stderr
    done = run_with_file_size_limit(30_000, "evaluate", subject / "sub-T1.nii.gz", subject / "sub-T2.nii.gz",
                                    "--csv", out / "m.csv", "--mosaic", out / "m.png")
    assert done.returncode == 2 and list(out.iterdir()) == [], done.stderr  # no CSV without its mosaic


@pytest.fixture(scope="module", autouse=True)
def uncompressed(subject):
    write_volume(read_volume(subject / "sub-T1.nii.gz"), subject / "sub-T1.nii", overwrite=True)


# --- signals and output hygiene -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(tmp_path, name, code):
    import signal

    big = make_subject(phantom_grid((160, 160, 120)), seed=2, contrasts=("T1",)).images["T1"]
    write_volume(big, tmp_path / "big-T1.nii.gz")
    child = subprocess.Popen([sys.executable, "-m", "medsynth.cli.main", "--progress-lines", "synthesize",
                              str(tmp_path / "big-T1.nii.gz"), str(tmp_path / "syn.nii.gz"), "--model",
                              "phantom-pgan-T1-T2", "--device", "cpu"], stderr=subprocess.PIPE, text=True)
    for line in child.stderr:  # wait until the model is at work
        if line.startswith("medsynth-progress ") and line.split()[1] != "0":
            break
    child.send_signal(getattr(signal, name))
    rest = child.stderr.read()
    assert child.wait(timeout=120) == code
    assert f"medsynth: stopped by {name}; nothing was written" in rest and "Traceback" not in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big-T1.nii.gz"]


def test_nothing_printed_from_a_file_can_drive_the_terminal(tmp_path, capsys):
    from medsynth.checkpoint import build_from_card, save_model
    from medsynth.core.card import ModelCard

    card = ModelCard.from_dict(card_dict(**{"hyperparameters.ngf": 4, "hyperparameters.n_blocks": 1,
                                            "name": "evil\x1b]0;owned\x07", "description": "\x1b[2Jcleared\u202e"}))
    save_model(build_from_card(card), card, tmp_path / "evil.safetensors")
    assert main(["models", str(tmp_path / "evil.safetensors")]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "cleared" in text


def test_prepare_into_its_own_raw_folder_never_replaces_a_raw_file(subject, tmp_path, capsys):
    import shutil

    raw = tmp_path / "raw"
    raw.mkdir()
    for contrast in ("T1", "T2"):
        shutil.copy(subject / f"sub-{contrast}.nii.gz", raw / f"sub-{contrast}.nii.gz")
    before = (raw / "sub-T2.nii.gz").read_bytes()
    assert "writing it would destroy the input" in fails(capsys, "prepare", raw, raw, "--reference", "T1",
                                                         "--rigid-only", "--overwrite")
    assert (raw / "sub-T2.nii.gz").read_bytes() == before


def test_scaled_8_bit_nifti_is_sized_by_its_stored_type(tmp_path):
    """ITK reports a scaled uint8 NIfTI (scl_slope) as float: its size is still checked in stored bytes."""
    image = nib.Nifti1Image((np.arange(24 * 20 * 16) % 200).reshape(24, 20, 16).astype(np.uint8), np.eye(4))
    image.header.set_slope_inter(2.0, 1.0)
    nib.save(image, tmp_path / "scaled.nii.gz")
    assert read_volume(tmp_path / "scaled.nii.gz").array.max() == pytest.approx(2 * 199 + 1)
    data = image.to_bytes()
    (tmp_path / "cut.nii").write_bytes(data[: len(data) - 100])
    with pytest.raises(InputError, match="the file is truncated"):
        read_volume(tmp_path / "cut.nii")
