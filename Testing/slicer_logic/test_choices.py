"""The module files build their GUI from plain constants (no medsynth import at Slicer's start-up): they
must stay what the package accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from medsynth.core.architectures import architecture
from medsynth.core.contrasts import CONTRASTS
from medsynth.core.conventions import CONVENTIONS
from medsynth.core.errors import ConfigError, ModelError
from medsynth.core.options import ALL_PLANES, DEVICES, PRECISION_CHOICES, UNCERTAINTY_METHODS
from medsynth.volume import PLANES
from MedSynthLib import Choices
from MedSynthLib.ModelCatalog import ModelCatalog, cardHtml
from MedSynthLib.Parameters import SynthesisParameters

ROOT = Path(__file__).resolve().parents[2]


def test_choices_match_the_package():
    assert set(Choices.AXES) == {"auto", ALL_PLANES, *PLANES}
    assert Choices.DEVICES == DEVICES and PRECISION_CHOICES == Choices.PRECISIONS
    assert "pgan" in Choices.TRAINABLE_ARCHITECTURES
    assert all(architecture(a).trainable and architecture(a).role == "generator"
               for a in Choices.TRAINABLE_ARCHITECTURES)
    assert tuple(CONTRASTS) == Choices.CONTRASTS
    assert Choices.COMPARISONS == CONVENTIONS
    assert Choices.UNCERTAINTY_METHODS == UNCERTAINTY_METHODS


def test_settings_choose_the_model_and_the_options(tmp_path):
    catalog = ModelCatalog(tmp_path / "models.json")
    assert SynthesisParameters(mapping="T1->T2").chooseModel(catalog).kind == "real data"  # real data first
    menu = catalog.models("T1->T2")
    kinds = [c.kind for c in menu]
    assert kinds == sorted(kinds, key=["real data", "phantom demo", "baseline"].index)  # grouped, in this order
    assert "phantom demo;" in next(c for c in menu if c.kind == "phantom demo").label
    assert "baseline;" in menu[-1].label
    assert SynthesisParameters(mapping="PD->T2", mode="patch").chooseModel(catalog).name == "phantom-nie-PD-T2"
    assert SynthesisParameters(mapping="PD->T2", mode="slice").chooseModel(catalog).card.engine == "voxelwise"
    with pytest.raises(ModelError, match="no pgan patch-mode model for T1->T2"):
        SynthesisParameters(mapping="T1->T2", architecture="pgan", mode="patch").chooseModel(catalog)
    with pytest.raises(ModelError, match="cannot run in slice mode"):
        SynthesisParameters(mapping="PD->T2", mode="slice", model="phantom-nie-PD-T2").chooseModel(catalog)
    with pytest.raises(ModelError, match="maps T1->T2, not T2->T1"):
        SynthesisParameters(mapping="T2->T1", model="phantom-pgan-T1-T2").chooseModel(catalog)
    options = SynthesisParameters(patchStride="8", device="cpu", precision="bf16").inferenceOptions()
    assert (options.stride, options.device, options.precision) == (8, "cpu", "bf16")
    assert SynthesisParameters(patchStride="full").inferenceOptions().stride == "full"
    for typed in ("0", "-3", "f", "ful", "8.5"):  # the text as typed is kept; a run refuses it
        with pytest.raises(ConfigError, match=f"patch stride must be 1 to 512 voxels .* or 'full', got '?{typed}'?"):
            SynthesisParameters(patchStride=typed).inferenceOptions()


def test_the_model_card_shown_before_running_names_the_method_and_what_to_cite(tmp_path):
    choice = ModelCatalog(tmp_path / "models.json").choose("T1->T2", model="phantom-pgan-T1-T2")
    text = cardHtml(choice.card)
    assert "phantom-pgan-T1-T2" in text and "pgan (slicewise)" in text
    assert re.search(r"Dar.*IEEE Trans\. Med\. Imaging", text) and "Mirza" in text
    for choice in ModelCatalog(tmp_path / "models.json").models():  # every bundled card can be shown
        assert choice.name in cardHtml(choice.card)
    assert "<script" not in cardHtml(type(choice.card)(**{**vars(choice.card), "description": "<script>x</script>"}))


def test_the_model_menu_follows_mapping_mode_and_architecture(tmp_path):
    catalog = ModelCatalog(tmp_path / "models.json")
    menu = catalog.menu("PD->T2")
    assert "T1->T2" in menu.mappings and menu.model == "phantom-nie-PD-T2"  # the mapping's default first
    assert {"nie", "joint_histogram", "histogram_matching", "identity"} <= set(menu.architectures)
    sliced = catalog.menu("PD->T2", "nie", mode="slice", model="phantom-nie-PD-T2")
    assert "nie" not in sliced.architectures and sliced.architecture == ""  # a 3D model cannot run slice-wise
    assert sliced.model != "phantom-nie-PD-T2" and all(c.card.engine != "patchwise" for c in sliced.models)
    moved = catalog.menu("no->where", model="phantom-pgan-T1-T2")
    assert moved.mapping == moved.mappings[0] and moved.model == moved.models[0].key
    chosen = catalog.menu("T1->T2", "joint_histogram")
    assert [c.card.architecture for c in chosen.models] == ["joint_histogram"]


def test_every_mrml_class_the_slicer_code_names_exists():
    """`slicer.vtkMRML...` names in the modules and their logic are real classes (a typo, or a class that
    lives in vtk rather than slicer, would only fail inside Slicer)."""
    import slicer

    files = [*(ROOT / "MedSynth").glob("*.py"), *(ROOT / "MedSynth/MedSynthLib").glob("*.py"),
             *(ROOT / "MedSynthTrain").rglob("*.py"), *(ROOT / "scripts").glob("*.py"),
             *(ROOT / "MedSynth/Resources/Scripts").glob("*.py")]
    names = {name for path in files for name in re.findall(r"\bslicer\.(vtk\w+)", path.read_text())}
    names |= {name for path in files for name in re.findall(r'"(vtkMRML\w+)"', path.read_text())}
    assert {"vtkMRMLScalarVolumeNode", "vtkMRMLPlotChartNode", "vtkMRMLSliceLogic"} <= names
    assert [name for name in sorted(names) if not hasattr(slicer, name)] == []
