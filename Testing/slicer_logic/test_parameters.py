"""The module's parameter node: typed, validated, and restored from a saved .mrml scene."""

from __future__ import annotations

import numpy as np
import pytest
import slicer
from medsynth.errors import ConfigError
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
    with pytest.raises(ConfigError, match="patch stride must be empty"):
        SynthesisParameters(patchStride="8.5")


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
