"""A many-to-one model in the module: as many inputs as the model takes, checked, and run both ways."""

from __future__ import annotations

import pytest
import slicer
from medsynth.checkpoint import save_model
from medsynth.core import intensity
from medsynth.core.card import ModelCard
from medsynth.core.errors import InputError
from medsynth.models import build_model
from MedSynthLib.ModelCatalog import ModelCatalog
from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
from MedSynthLib.RunLogic import RunLogic
from MedSynthLib.SampleVolumes import loadSample


@pytest.fixture
def catalog(tmp_path):
    hyper = {"spatial_dims": 2, "in_channels": 2, "filters": [4, 1], "kernels": [3, 3], "norm": "none"}
    card = ModelCard(name="my-t1t2-pd", architecture="convnet", hyperparameters=hyper, engine="slicewise",
                     source_contrast="T1", target_contrast="PD", input_contrasts=["T1", "T2"],
                     source_normalization=intensity.default_normalization("T1"),
                     target_intensity={"kind": "minmax", "params": {"lo": 0.0, "hi": 900.0}, "background": 0.0})
    models = ModelCatalog(tmp_path / "models.json")
    models.addModelFile(str(save_model(build_model("convnet", **hyper), card, tmp_path / "t1t2-pd.safetensors")))
    return models


@pytest.mark.torch
@pytest.mark.parametrize("background", [False, True])
def test_two_inputs_run_in_process_and_in_the_background(scene, catalog, background):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1+T2->PD", device="cpu").write(node)
    logic = RunLogic(scene, catalog)
    assert SynthesisParameters.read(node).inputContrasts == ["T1", "T2"]
    with pytest.raises(InputError, match="takes T1, T2: choose the T2 volume as input 2"):
        logic.start(node)
    parameters = SynthesisParameters.read(node)
    parameters.secondInputVolume = sample["T1"]
    parameters.write(node)
    with pytest.raises(InputError, match="each input must be its own volume"):
        logic.run(node)
    parameters.secondInputVolume = sample["T2"]
    parameters.write(node)
    if background:
        job = logic.start(node)
        assert job.process.job.command.count("--input") == 1
        while job.poll().value == "running":
            pass
        result = logic.finish(job)
    else:
        result = logic.run(node)
    output = result.parameters.outputVolume
    assert output.GetName() == "MedSynthPhantom-T1-synthetic-PD"
    assert slicer.util.arrayFromVolume(output).shape == slicer.util.arrayFromVolume(sample["T1"]).shape
