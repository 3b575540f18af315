"""The module's parameter node: typed, validated, and restored from a saved .mrml scene."""

from __future__ import annotations

import numpy as np
import pytest
import slicer
from medsynth.core.errors import ConfigError
from MedSynthLib.Parameters import SynthesisParameters, getParameterNode


def test_parameter_node_survives_saving_and_loading_the_scene(scene, tmp_path):
    volumes = {}
    for name in ("T1", "T2", "T1-synthetic-T2", "difference"):
        volumes[name] = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
        slicer.util.updateVolumeFromArray(volumes[name], np.zeros((4, 5, 6), np.float32))
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "metrics")
    parameters = SynthesisParameters(
        inputVolume=volumes["T1"], referenceVolume=volumes["T2"], mapping="T1->T2", architecture="pgan",
        model="phantom-pgan-T1-T2", mode="slice", axis="coronal", device="cpu", precision="bf16",
        patchStride="full", outputVolume=volumes["T1-synthetic-T2"], differenceVolume=volumes["difference"],
        metricsTable=table)
    node = getParameterNode(scene)
    assert getParameterNode(scene) is node  # one per scene
    parameters.write(node)
    scene.SetURL(str(tmp_path / "scene.mrml"))
    assert scene.Commit()

    loaded = slicer.vtkMRMLScene()
    loaded.SetURL(str(tmp_path / "scene.mrml"))
    assert loaded.Import()
    restored = SynthesisParameters.read(getParameterNode(loaded))
    for field in ("mapping", "architecture", "model", "mode", "axis", "device", "precision", "patchStride"):
        assert getattr(restored, field) == getattr(parameters, field), field
    names = {f: getattr(restored, f).GetName() for f in ("inputVolume", "referenceVolume", "outputVolume",
                                                         "differenceVolume", "metricsTable")}
    assert names == {"inputVolume": "T1", "referenceVolume": "T2", "outputVolume": "T1-synthetic-T2",
                     "differenceVolume": "difference", "metricsTable": "metrics"}
    assert restored.inputVolume.GetScene() is loaded
    loaded.Clear(True)


def test_defaults_and_clear_errors(scene):
    fresh = SynthesisParameters.read(getParameterNode(scene))
    assert (fresh.inputVolume, fresh.mode, fresh.patchStride) == (None, "auto", "")
    with pytest.raises(ConfigError, match="mode must be one of auto, slice, patch, got 'fast'"):
        SynthesisParameters(mode="fast")
    half_typed = SynthesisParameters(patchStride="fu")  # "full" being typed: readable, refused only when run
    half_typed.write(getParameterNode(scene))
    assert SynthesisParameters.read(getParameterNode(scene)).patchStride == "fu"
    with pytest.raises(ConfigError, match="patch stride must be 1 to 512 voxels .* got 'fu'"):
        half_typed.inferenceOptions()


def test_the_modules_defaults_are_the_commands_defaults(scene, tmp_path):
    """Untouched, the module and `medsynth synthesize` run the same request (same precision, plane, device)."""
    import argparse

    from medsynth.cli.common import add_inference_options, inference_options

    parser = argparse.ArgumentParser()
    add_inference_options(parser)
    command = inference_options(parser.parse_args([]))
    module = SynthesisParameters.read(getParameterNode(scene)).inferenceOptions()
    assert module == command and module.precision == "auto"
    changed = SynthesisParameters(axis="coronal", precision="fp32", uncertaintyMethod="intensity", patchStride="8")
    from medsynth.core.options import write_options

    options = changed.inferenceOptions()
    path = tmp_path / "options.json"
    write_options(options, path)  # what the module hands its child process
    assert inference_options(parser.parse_args(["--options-file", str(path)])) == options


def test_encoding_is_the_one_of_slicers_parameter_node_wrapper(scene):
    """What the module's @parameterNodeWrapper writes, this view reads, and the other way round: text as is,
    numbers with str(), nodes as a reference plus an empty parameter of the same name."""
    from MedSynthTrainLib.TrainingParameters import TrainingParameters

    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=volume, axis="axial").write(node)
    assert node.HasParameter("inputVolume") and node.GetParameter("inputVolume") == ""
    assert node.GetNodeReferenceID("inputVolume") == volume.GetID() and node.GetParameter("axis") == "axial"
    assert node.HasParameter("outputVolume") and node.GetNodeReferenceID("outputVolume") is None

    training = TrainingParameters.parameterNode(scene)
    assert training is not node and training.GetSingletonTag() == "MedSynthTrain"
    training.SetParameter("epochs", "12")  # as the wrapper writes an int and a float
    training.SetParameter("learningRate", "0.0002")
    assert (TrainingParameters.read(training).epochs, TrainingParameters.read(training).learningRate) == (12, 2e-4)
    training.SetParameter("epochs", "many")
    with pytest.raises(ConfigError, match="parameter 'epochs' of the MedSynthTrain module must be int, got 'many'"):
        TrainingParameters.read(training)


@pytest.mark.parametrize("definition", ["SynthesisParameters", "TrainingParameters"])
def test_the_gui_wrapper_is_derived_from_the_one_definition(monkeypatch, definition):
    """``parameterNodeFields`` gives @parameterNodeWrapper the definition's fields, defaults and constraints,
    as validators only: any other annotation would make the wrapper log "Unused annotations" at startup."""
    import dataclasses
    import sys
    import types
    import typing

    from MedSynthLib.ModuleParameters import OneOf, Within, parameterNodeFields
    from MedSynthTrainLib.TrainingParameters import TrainingParameters

    cls = {"SynthesisParameters": SynthesisParameters, "TrainingParameters": TrainingParameters}[definition]

    class Validator:
        def __init__(self, value) -> None:
            self.value = value

    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.Choice = type("Choice", (Validator,), {})
    wrapper.Minimum = type("Minimum", (Validator,), {})
    wrapper.Maximum = type("Maximum", (Validator,), {})
    monkeypatch.setitem(sys.modules, "slicer.parameterNodeWrapper", wrapper)
    fields = parameterNodeFields(cls)
    hints = typing.get_type_hints(type("Wrapped", (fields,), {}), include_extras=True)
    assert list(hints) == [f.name for f in dataclasses.fields(cls)]
    for field in dataclasses.fields(cls):
        kind, constraints = cls.fieldTypes()[field.name]
        extras = typing.get_args(hints[field.name])[1:] if typing.get_origin(hints[field.name]) else ()
        assert all(isinstance(extra, Validator) for extra in extras), field.name
        if field.default is not None:
            assert getattr(fields, field.name) == field.default
        for constraint in constraints:
            if isinstance(constraint, OneOf):
                assert [e.value for e in extras if type(e).__name__ == "Choice"] == [list(constraint.values)]
            if isinstance(constraint, Within):
                assert [e.value for e in extras if type(e).__name__ in ("Minimum", "Maximum")] == [
                    kind(constraint.minimum), kind(constraint.maximum)]


def test_spin_box_ranges_are_the_definitions_ranges():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from MedSynthLib.ModuleParameters import Within
    from MedSynthTrainLib.TrainingParameters import TrainingParameters

    ui = Path(__file__).resolve().parents[2] / "MedSynthTrain/Resources/UI/MedSynthTrain.ui"
    for widget in ET.parse(ui).iter("widget"):
        props = {p.get("name"): p[0].text for p in widget.findall("property")}
        if widget.get("class") in ("QSpinBox", "QDoubleSpinBox"):
            _, constraints = TrainingParameters.fieldTypes()[props["SlicerParameterName"]]
            (within,) = [c for c in constraints if isinstance(c, Within)]
            assert (float(props["minimum"]), float(props["maximum"])) == (within.minimum, within.maximum)
    with pytest.raises(ConfigError, match="epochs must be between 1 and 100000, got 0"):
        TrainingParameters(epochs=0)
    with pytest.raises(ConfigError, match="learningRate must be between"):
        TrainingParameters(learningRate=2.0)
    with pytest.raises(ConfigError, match="inputVolume must be a vtkMRMLScalarVolumeNode, got vtkMRMLTableNode"):
        SynthesisParameters(inputVolume=slicer.vtkMRMLTableNode())

