"""The bundled catalog and the non-learned baselines."""

import shutil

import pytest
from medsynth.baselines import fit_baseline
from medsynth.checkpoint import LoadedModel, load_model, read_card, save_model
from medsynth.core.catalog import add_to_catalog, default_model, find_models, load_catalog, resolve_model, sha256_of
from medsynth.core.errors import ModelError
from medsynth.inference import InferenceOptions, synthesize
from medsynth.metrics import compare
from medsynth.phantom import make_subject, phantom_grid


def test_bundled_catalog_is_consistent():
    entries = load_catalog()
    assert entries, "the bundled catalog must not be empty"
    for entry in entries:
        assert sha256_of(entry.path) == entry.sha256, entry.name
        assert read_card(entry.path) == entry.card, entry.name
        assert entry.path.stat().st_size < 16 * 1024 * 1024  # float16 weights: a 2.5D U-Net of ngf 32 is 14.6 MB
    defaults = [e for e in find_models("T1", "T2") if e.default]
    assert len(defaults) == 1 and find_models("T1", "T2")[0] is not None


def test_resolve_by_name_and_unknown_name():
    name = default_model("T1", "T2").name
    assert resolve_model(name).exists()
    with pytest.raises(ModelError, match="no model named 'nope'.*bundled models: .*phantom-"):
        resolve_model("nope")


def test_tampered_bundled_file_is_detected(tmp_path, model_file):
    add_to_catalog(shutil.copy(model_file, tmp_path / "m.safetensors"), folder=tmp_path)
    assert resolve_model("tiny", folder=tmp_path) == tmp_path / "m.safetensors"
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA256 .* the file is corrupt or was replaced"):
        resolve_model("tiny", folder=tmp_path)


def test_joint_histogram_beats_identity_and_inverts_contrast(tmp_path):
    grid = phantom_grid((48, 56, 40))
    train = [make_subject(grid, 11, i, ("T1", "T2")) for i in range(3)]
    test = make_subject(grid, 12, 0, ("T1", "T2"))
    pairs = [(s.images["T1"], s.images["T2"], None) for s in train]
    scores = {}
    for kind in ("identity", "histogram_matching", "joint_histogram"):
        model, card = fit_baseline(kind, pairs, "T1", "T2")
        path = save_model(model, card, tmp_path / f"{kind}.safetensors")
        result = synthesize(test.images["T1"], load_model(path), InferenceOptions(device="cpu"))
        assert result.same_grid(test.images["T1"])
        scores[kind] = compare(result, test.images["T2"], test.masks["T1"].array > 0, planes=False)["mask"]
    assert scores["joint_histogram"]["psnr"] > scores["identity"]["psnr"] + 3
    assert scores["joint_histogram"]["ssim_3d"] > scores["identity"]["ssim_3d"]
    # CSF must come out bright as on T2 (dark on T1): the mapping inverts contrast where needed
    model, card = fit_baseline("joint_histogram", pairs, "T1", "T2")
    out = synthesize(test.images["T1"], LoadedModel(model, card), InferenceOptions(device="cpu"))
    labels = test.labels["T1"].array
    assert out.array[labels == 6].mean() > out.array[labels == 8].mean()  # csf > white matter


def test_baseline_fit_rejects_bad_input(subject):
    from medsynth.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown baseline"):
        fit_baseline("magic", [(subject.images["T1"], subject.images["T2"], None)], "T1", "T2")
    with pytest.raises(ConfigError, match="at least one training pair"):
        fit_baseline("identity", [], "T1", "T2")
    other_grid = make_subject(phantom_grid((40, 40, 30)), 1, 0, ("T2",)).images["T2"]
    with pytest.raises(ConfigError, match="one grid.*medsynth prepare"):
        fit_baseline("joint_histogram", [(subject.images["T1"], other_grid, None)], "T1", "T2")


def test_a_withdrawn_model_leaves_the_catalog_and_says_why(tmp_path, model_file):
    from medsynth.core.catalog import withdraw_from_catalog, withdrawn_models, withdrawn_note

    folder = tmp_path / "catalog"
    folder.mkdir()
    shutil.copy(model_file, folder / "tiny.safetensors")
    add_to_catalog(folder / "tiny.safetensors", folder=folder)
    gone = withdraw_from_catalog("tiny", "it is below the joint histogram on one unseen subject", folder)
    assert load_catalog(folder) == [] and not (folder / "tiny.safetensors").exists()
    assert withdrawn_models(folder) == [gone] and gone.mapping == "T1->T2"
    assert withdrawn_note("T1->T2", folder) == ("No real-data T1->T2 model is bundled: tiny was withdrawn because it "
                                                "is below the joint histogram on one unseen subject.")
    assert withdrawn_note("T2->T1", folder) == ""
    with pytest.raises(ModelError, match="no bundled model 'tiny'"):
        withdraw_from_catalog("tiny", "again", folder)
    shutil.copy(model_file, folder / "tiny.safetensors")
    add_to_catalog(folder / "tiny.safetensors", folder=folder)  # bundled again: no longer listed as withdrawn
    assert withdrawn_models(folder) == [] and [e.name for e in load_catalog(folder)] == ["tiny"]


def test_the_bundled_catalog_says_which_real_models_were_withdrawn(capsys):
    from medsynth.cli.main import main
    from medsynth.core.catalog import withdrawn_models

    withdrawn = {w.name: w for w in withdrawn_models()}
    assert {"real-unet-T2-T1", "real-unet-T2-FLAIR"} <= set(withdrawn)
    assert not {e.name for e in load_catalog()} & set(withdrawn)
    assert main(["models"]) == 0
    assert "withdrawn: real-unet-T2-FLAIR (T2->FLAIR): it does not beat each subject's best" in capsys.readouterr().out
