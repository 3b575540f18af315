"""The module's model list: bundled models plus validated user model files, filtered by mapping."""

from __future__ import annotations

import pytest
from medsynth.checkpoint import save_model
from medsynth.core import intensity
from medsynth.core.card import ModelCard
from medsynth.core.errors import ModelError
from medsynth.models import build_model
from MedSynthLib.ModelCatalog import ModelCatalog


def user_model(path, name="my-pd-flair"):
    hyper = {"spatial_dims": 2, "filters": [4, 1], "kernels": [3, 3]}
    card = ModelCard(name=name, architecture="convnet", hyperparameters=hyper, engine="slicewise",
                     source_contrast="PD", target_contrast="FLAIR",
                     source_normalization=intensity.default_normalization("PD"),
                     target_intensity={"kind": "minmax", "params": {"lo": 0.0, "hi": 900.0}, "background": 0.0})
    return save_model(build_model("convnet", **hyper), card, path)


def test_bundled_models_are_offered_by_mapping_real_data_first(tmp_path):
    catalog = ModelCatalog(tmp_path / "models.json")
    choices = catalog.models("T1->T2")
    assert choices and all(c.card.mapping == "T1->T2" for c in choices)
    assert choices[0].kind == "real data" and choices[0].card.spatial_dims == 2  # a trained generator
    demo = [c for c in choices if c.kind == "phantom demo"]
    assert demo[0].default  # the demo's default leads the phantom group
    assert {"T1->T2", "PD->T2", "T2->T1"} <= set(catalog.mappings())
    assert [c.name for c in catalog.models("PD->T2", "nie")] == ["phantom-nie-PD-T2"]


def test_user_model_files_are_validated_remembered_and_removed(tmp_path):
    catalog = ModelCatalog(tmp_path / "settings" / "models.json")
    path = user_model(tmp_path / "mine.safetensors")
    added = catalog.addModelFile(path)
    assert (added.name, added.card.mapping, added.bundled) == ("my-pd-flair", "PD->FLAIR", False)
    again = ModelCatalog(tmp_path / "settings" / "models.json")  # a new session remembers it
    offered = again.models("PD->FLAIR")
    assert [c.name for c in offered] == ["my-pd-flair"] and "[user]" in offered[0].label
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a model")
    with pytest.raises(ModelError):
        again.addModelFile(junk)
    assert [p.name for p in again.userFiles()] == ["mine.safetensors"]
    path.write_bytes(b"broken later")  # a remembered file that went bad is reported, not offered
    assert again.models("PD->FLAIR") == [] and "mine.safetensors" in again.problems[0]
    again.removeModelFile(path)
    assert again.userFiles() == []


def test_a_mapping_whose_real_model_was_withdrawn_is_offered_with_the_reason(scene, tmp_path):
    """T2 -> FLAIR has no bundled model since real-unet-T2-FLAIR failed the bundling rule: the module still
    lists the mapping, runs nothing, and its card area says why."""
    from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
    from MedSynthLib.RunLogic import RunLogic

    catalog = ModelCatalog(tmp_path / "models.json")
    menu = catalog.menu("T2->FLAIR")
    assert "T2->FLAIR" in menu.mappings and menu.mapping == "T2->FLAIR" and menu.models == [] and menu.model == ""
    node = getParameterNode(scene)
    SynthesisParameters(mapping="T2->FLAIR").write(node)
    text = RunLogic(scene, catalog).modelCardHtml(node)
    assert "No real-data T2-&gt;FLAIR model is bundled: real-unet-T2-FLAIR was withdrawn because" in text
    assert "no model for T2-&gt;FLAIR" in text
    SynthesisParameters(mapping="T1->T2").write(node)
    assert "withdrawn" not in RunLogic(scene, catalog).modelCardHtml(node)  # its real-data model is bundled


def test_a_model_added_in_slicer_is_offered_by_the_command_and_back(tmp_path, scene, capsys, medsynth_home,
                                                                     monkeypatch):
    import slicer
    from medsynth.cli.main import main
    from medsynth.core.catalog import resolve_model

    catalog = ModelCatalog()  # the default list: the one the medsynth command reads ($MEDSYNTH_HOME)
    assert catalog.userModelsFile == medsynth_home / "models.json"
    catalog.addModelFile(user_model(tmp_path / "mine.safetensors"))
    assert main(["models", "--target", "FLAIR"]) == 0
    listed = capsys.readouterr().out
    assert "my-pd-flair" in listed and "added" in listed and str(tmp_path / "mine.safetensors") in listed
    assert main(["models", "my-pd-flair"]) == 0 and '"target_contrast": "FLAIR"' in capsys.readouterr().out
    assert resolve_model("my-pd-flair") == tmp_path / "mine.safetensors"  # synthesize -m takes it by name
    other = user_model(tmp_path / "theirs.safetensors", name="their-pd-flair")
    assert main(["models", "--add", str(other)]) == 0  # added with the command: the module offers it
    assert {c.name for c in ModelCatalog().models("PD->FLAIR")} == {"my-pd-flair", "their-pd-flair"}
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    assert main(["models", "--add", str(junk)]) == 2 and "junk.safetensors" in capsys.readouterr().err
    assert main(["models", "--remove", str(other)]) == 0
    assert [c.name for c in ModelCatalog().models("PD->FLAIR")] == ["my-pd-flair"]
    assert main(["models", "--remove", str(other)]) == 2 and "not in the list" in capsys.readouterr().err
    # a list the module kept next to Slicer's settings before is moved to the shared one, once
    (medsynth_home / "models.json").unlink()
    former = tmp_path / "settings" / "MedSynth" / "models.json"
    former.parent.mkdir(parents=True)
    former.write_text(f'["{tmp_path / "mine.safetensors"}"]')
    app = type("App", (), {"slicerUserSettingsFilePath": str(tmp_path / "settings" / "Slicer.ini")})()
    monkeypatch.setattr(slicer, "app", app, raising=False)
    assert [c.name for c in ModelCatalog().models("PD->FLAIR")] == ["my-pd-flair"] and not former.exists()
