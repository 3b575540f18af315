"""A run as the module does it: settings from the parameter node, results recorded and shown; a second
run reuses the same output nodes."""

from __future__ import annotations

import numpy as np
import pytest
import slicer
from medsynth.core.errors import InputError
from MedSynthLib.OutputNodes import StoredSynthesis, companions, storeSynthesis
from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
from MedSynthLib.RunLogic import RunLogic, metricsHtml, runFromParameters
from MedSynthLib.SampleVolumes import loadSample


def runBothRoutes(logic: RunLogic, node, background: bool):
    """A run in a child process, as the GUI does it (start, poll, finish), or in this process."""
    if not background:
        return logic.run(node)
    job = logic.start(node)
    while job.poll().value == "running":
        pass
    return logic.finish(job)


def composites(scene):
    nodes = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    return {nodes.GetItemAsObject(i).GetLayoutName(): nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())}


@pytest.mark.torch
def test_a_run_with_a_reference_records_compares_and_shows(scene, views, tmp_path):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T2"], mapping="T1->T2",
                        model="phantom-pgan-T1-T2", device="cpu").write(node)
    result = runFromParameters(node)
    stored = SynthesisParameters.read(node)
    assert stored.outputVolume.GetName() == "MedSynthPhantom-T1-synthetic-T2"
    assert stored.differenceVolume is not None and stored.metricsTable.GetTable().GetNumberOfRows() == 5
    assert result.metrics["mask"]["psnr"] > 20
    for view in ("Red", "Yellow", "Green"):
        assert composites(scene)[view].GetBackgroundVolumeID() == stored.outputVolume.GetID()
        assert composites(scene)[view].GetForegroundVolumeID() == stored.differenceVolume.GetID()
    text = metricsHtml(result.metrics)
    assert "PSNR</b> " in text and " dB" in text and "SSIM" in text and "MAE" in text

    volumes = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    runFromParameters(node)  # again: the same output, difference and table nodes are updated
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == volumes
    assert SynthesisParameters.read(node).outputVolume is stored.outputVolume


@pytest.mark.torch
def test_without_a_reference_the_output_is_shown_alone(scene, views):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["PD"], mapping="PD->T2", mode="patch", device="cpu").write(node)
    result = runFromParameters(node)
    assert result.metrics is None and metricsHtml(None) == ""
    output = result.parameters.outputVolume
    assert output.GetName() == "MedSynthPhantom-PD-synthetic-T2"
    assert composites(scene)["Yellow"].GetBackgroundVolumeID() == output.GetID()
    assert composites(scene)["Yellow"].GetForegroundVolumeID() is None
    assert RunLogic(scene).completeRun(node, StoredSynthesis(output)).parameters.outputVolume is output


@pytest.mark.torch
@pytest.mark.parametrize("background", [False, True])
def test_uncertainty_map_is_a_second_node_shown_as_a_heat_overlay(scene, views, background):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1->T2", model="phantom-pgan-T1-T2", device="cpu",
                        uncertainty=True).write(node)
    logic = RunLogic(scene)
    result = runBothRoutes(logic, node, background)
    stored = SynthesisParameters.read(node)
    sd = stored.uncertaintyVolume
    assert sd is not None and sd.GetName() == "MedSynthPhantom-T1-synthetic-T2-uncertainty"
    values = slicer.util.arrayFromVolume(sd)
    assert values.shape == slicer.util.arrayFromVolume(stored.outputVolume).shape and values.max() > 0
    assert (values >= 0).all()
    display = sd.GetDisplayNode()
    assert display.GetColorNode().GetName() == "MedSynthUncertainty" and display.GetApplyThreshold()
    for view in ("Red", "Yellow", "Green"):
        composite = composites(scene)[view]
        assert composite.GetBackgroundVolumeID() == stored.outputVolume.GetID()
        assert composite.GetForegroundVolumeID() == sd.GetID() and 0 < composite.GetForegroundOpacity() < 1
    assert result.warnings == []
    volumes = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    logic.run(node)  # again: the same nodes are updated
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == volumes


def test_uncertainty_with_a_baseline_is_refused_before_anything_runs(scene):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1->T2", architecture="joint_histogram", device="cpu",
                        uncertainty=True).write(node)
    volumes = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    with pytest.raises(InputError, match="cannot disagree"):
        RunLogic(scene).start(node)
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == volumes


def test_out_of_domain_warnings_are_shown_with_the_results():
    from MedSynthLib.RunLogic import RunResult, warningsHtml

    result = RunResult(SynthesisParameters(), None, ["the input's voxels are 3 x 3 x 3 mm, <far> from it"])
    text = RunLogic.metricsHtml(result)
    assert "Check this result" in text and "&lt;far&gt;" in text  # escaped
    assert warningsHtml([]) == "" and RunLogic.metricsHtml(None) == ""


def test_missing_or_wrong_inputs_are_named(scene):
    node = getParameterNode(scene)
    with pytest.raises(InputError, match="choose an input volume"):
        runFromParameters(node)
    sample = loadSample(scene=scene)
    SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T1"]).write(node)
    with pytest.raises(InputError, match="not an input"):
        runFromParameters(node)


def test_an_acquired_volume_is_never_an_output(scene):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    for role, volume in (("input", sample["T1"]), ("reference", sample["T2"])):
        SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T2"], outputVolume=volume,
                            device="cpu").write(node)
        with pytest.raises(InputError, match=f"is the {role} volume: writing there would destroy an acquired image"):
            RunLogic(scene).start(node)
    SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T2"], differenceVolume=sample["T2"],
                        device="cpu").write(node)
    with pytest.raises(InputError, match="difference volume 'MedSynthPhantom-T2' is the reference volume"):
        runFromParameters(node)
    assert scene.GetNodesByName("MedSynthPhantom-T1-synthetic-T2").GetNumberOfItems() == 0  # nothing was run


@pytest.mark.torch
def test_another_mapping_or_input_gets_its_own_output(scene):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1->T2", model="phantom-jointhist-T1-T2",
                        device="cpu").write(node)
    first = runFromParameters(node).parameters.outputVolume
    before = slicer.util.arrayFromVolume(first).copy()
    parameters = SynthesisParameters.read(node)
    parameters.mapping, parameters.model = "T1->PD", ""
    parameters.write(node)
    second = runFromParameters(node).parameters.outputVolume
    assert second is not first and second.GetName() == "MedSynthPhantom-T1-synthetic-PD"
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(first), before)  # the T2 result is untouched
    parameters = SynthesisParameters.read(node)
    parameters.inputVolume, parameters.mapping = sample["PD"], "PD->T2"
    parameters.write(node)
    RunLogic(scene).releaseStaleOutputs(node)  # what the GUI does when the input or mapping changes
    assert SynthesisParameters.read(node).outputVolume is None


@pytest.mark.torch
def test_another_model_gets_its_own_outputs_and_its_earlier_ones_back(scene, views):
    """Comparing two models on one input: each keeps its synthetic volume, difference map and metrics table."""
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T2"], mapping="T1->T2",
                        model="phantom-jointhist-T1-T2", device="cpu").write(node)
    first = runFromParameters(node).parameters
    kept = slicer.util.arrayFromVolume(first.outputVolume).copy()
    parameters = SynthesisParameters.read(node)
    parameters.model = "phantom-histmatch-T1-T2"
    parameters.write(node)
    second = runFromParameters(node).parameters
    assert second.outputVolume.GetName() == "MedSynthPhantom-T1-synthetic-T2 (phantom-histmatch-T1-T2)"
    for role in ("outputVolume", "differenceVolume", "metricsTable"):
        assert getattr(second, role) is not getattr(first, role)
    assert first.outputVolume.GetName() == "MedSynthPhantom-T1-synthetic-T2"
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(first.outputVolume), kept)
    assert first.metricsTable.GetTable().GetNumberOfRows() == 5

    parameters = SynthesisParameters.read(node)
    parameters.model = "phantom-jointhist-T1-T2"  # back to the first model: its own nodes again
    parameters.write(node)
    RunLogic(scene).releaseStaleOutputs(node)  # what the GUI does when the choice changes
    again = SynthesisParameters.read(node)
    for role in ("outputVolume", "differenceVolume", "metricsTable"):
        assert getattr(again, role) is getattr(first, role)
    volumes = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    assert runFromParameters(node).parameters.outputVolume is first.outputVolume
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == volumes


def test_every_acquired_input_is_protected_used_or_not(scene):
    """A many-to-one model's 2nd and 3rd inputs are acquired images too: never an output, difference or
    uncertainty volume, even while the chosen mapping takes one input."""
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    for role in ("outputVolume", "differenceVolume", "uncertaintyVolume"):
        for number, field in ((2, "secondInputVolume"), (3, "thirdInputVolume")):
            settings = {"inputVolume": sample["T1"], field: sample["PD"], role: sample["PD"],
                        "model": "phantom-jointhist-T1-T2", "uncertainty": False}
            SynthesisParameters(**settings).write(node)
            with pytest.raises(InputError, match=f"is the input {number} volume: writing there would destroy"):
                RunLogic(scene).prepare(node)
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == 3  # nothing was added


@pytest.mark.torch
def test_a_failed_comparison_keeps_and_shows_the_synthetic_volume(scene, views):
    """A reference that does not overlap the output in the world: the synthesis is kept, recorded and shown,
    and the error names it."""
    from MedSynthLib.RunLogic import ComparisonError

    sample = loadSample(scene=scene)
    far = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    matrix = slicer.vtkMatrix4x4() if hasattr(slicer, "vtkMatrix4x4") else __import__("vtk").vtkMatrix4x4()
    matrix.SetElement(0, 3, 5000.0)
    far.SetMatrixTransformToParent(matrix)
    sample["T2"].SetAndObserveTransformNodeID(far.GetID())
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], referenceVolume=sample["T2"], mapping="T1->T2",
                        model="phantom-jointhist-T1-T2", device="cpu").write(node)
    with pytest.raises(ComparisonError, match="'MedSynthPhantom-T1-synthetic-T2' was synthesized and is kept, but "
                                              "comparing it with 'MedSynthPhantom-T2' failed: the reference covers "
                                              "0% .* check their transforms"):
        runFromParameters(node)
    output = SynthesisParameters.read(node).outputVolume
    assert output is not None and output.GetName() == "MedSynthPhantom-T1-synthetic-T2"
    assert composites(scene)["Red"].GetBackgroundVolumeID() == output.GetID()


def test_the_proposed_input_is_a_plain_scalar_volume(scene):
    """Label maps and vector volumes are scalar volume nodes to Slicer too; the module never proposes them."""
    import vtk
    from MedSynthLib.Parameters import defaultInputVolume

    assert defaultInputVolume(scene) is None
    scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "segmentation")
    vector = scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "rgb")
    image = vtk.vtkImageData()
    image.SetDimensions(2, 2, 2)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 3)
    vector.SetAndObserveImageData(image)
    assert defaultInputVolume(scene) is None
    t1 = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    assert defaultInputVolume(scene) is t1


def test_the_trust_mask_is_a_label_map_shown_when_warned_of_and_reused(scene, views):
    from medsynth.inference import Synthesis
    from MedSynthLib.VolumeConversion import volumeFromNode

    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1->T2", model="phantom-pgan-T1-T2").write(node)
    volume = volumeFromNode(sample["T1"])
    untrusted = np.zeros(volume.array.shape, dtype=np.uint8)
    untrusted[10:14, 20:30, 20:30] = 1
    warning = "4.0 mL of the input (0.3% of the head) holds T1 tissue unlike any ... (the trust mask shows where)"
    synthesis = Synthesis(volume, warnings=[warning], untrusted=volume.with_array(untrusted))
    stored = storeSynthesis(sample["T1"], synthesis, "T1->T2")
    mask = stored.trustMask
    assert mask.IsA("vtkMRMLLabelMapVolumeNode") and mask.GetName() == "MedSynthPhantom-T1-synthetic-T2-untrusted"
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(mask), untrusted)
    assert companions(stored.output)["trustMask"] is mask
    result = RunLogic(scene).completeRun(node, stored)
    assert result.warnings == [warning]
    for view in ("Red", "Yellow", "Green"):
        assert composites(scene)[view].GetLabelVolumeID() == mask.GetID()
        assert composites(scene)[view].GetBackgroundVolumeID() == stored.output.GetID()
    labels = scene.GetNumberOfNodesByClass("vtkMRMLLabelMapVolumeNode")
    again = storeSynthesis(sample["T1"], Synthesis(volume, untrusted=volume.with_array(untrusted * 0)), "T1->T2",
                           outputNode=stored.output)
    assert again.trustMask is mask and scene.GetNumberOfNodesByClass("vtkMRMLLabelMapVolumeNode") == labels
    assert not slicer.util.arrayFromVolume(mask).any()


@pytest.mark.torch
@pytest.mark.parametrize("background", [False, True])
def test_skull_stripping_adds_the_brain_mask_and_keeps_the_grid(scene, views, background):
    sample = loadSample(scene=scene)
    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=sample["T1"], mapping="T1->T2", model="phantom-pgan-T1-T2", device="cpu",
                        skullStrip=True).write(node)
    logic = RunLogic(scene)
    result = runBothRoutes(logic, node, background)  # the child strips, synthesizes and writes the mask
    output = result.parameters.outputVolume
    brain = companions(output)["brainMask"]
    assert brain is not None and brain.IsA("vtkMRMLLabelMapVolumeNode")
    assert brain.GetName() == "MedSynthPhantom-T1-synthetic-T2-brain"
    inside = slicer.util.arrayFromVolume(brain) > 0
    image = slicer.util.arrayFromVolume(output)
    assert inside.shape == image.shape == slicer.util.arrayFromVolume(sample["T1"]).shape
    assert 0.1 < inside.mean() < 0.6 and np.ptp(image[~inside]) == 0


def test_the_uncertainty_summary_is_shown_with_the_metrics():
    from MedSynthLib.RunLogic import RunResult

    text = RunLogic.metricsHtml(RunResult(SynthesisParameters(), None, [], 0.042))
    assert "4.2% of the head is above the model&#x27;s calibrated error threshold" in text  # escaped
    assert "calibrated error" not in RunLogic.metricsHtml(RunResult(SynthesisParameters(), None, []))
