"""MedSynthLib against a real MRML scene: grids preserved exactly, names, hierarchy, window/level, errors."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import slicer
import vtk
from medsynth.core.errors import Cancelled, InputError
from medsynth.core.progress import CancelToken
from medsynth.inference import InferenceOptions
from medsynth.io import read_volume
from medsynth.phantom import make_subject, phantom_grid
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import addVolumeNode, volumeFromNode

MODEL = "phantom-jointhist-T1-T2"  # a bundled model that runs in a blink
CPU = InferenceOptions(device="cpu")


def oblique_anisotropic(shape=(40, 48, 32)):
    """A phantom T1 on a rotated grid with 1.2 x 0.9 x 2.5 mm voxels."""
    angle = np.deg2rad(20)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    grid = phantom_grid(shape, spacing=(6.0, 5.0, 6.0), direction=rotation)
    return make_subject(grid, seed=11, contrasts=("T1", "T2")).images["T1"]


def node_from(scene, volume, name="input"):
    return addVolumeNode(scene, volume, name)


def ijk_to_ras(node) -> np.ndarray:
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def test_node_round_trip_keeps_voxels_and_an_oblique_anisotropic_grid(scene):
    volume = oblique_anisotropic()
    node = node_from(scene, volume)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(node), volume.array)
    np.testing.assert_allclose(ijk_to_ras(node), volume.ijk_to_ras, atol=1e-9)
    back = volumeFromNode(node)
    assert back.same_grid(volume, tol=1e-9) and np.array_equal(back.array, volume.array)
    back.array[0, 0, 0] += 1000  # a copy: the node's voxels are not touched by computations
    assert slicer.util.arrayFromVolume(node)[0, 0, 0] == volume.array[0, 0, 0]


@pytest.mark.torch
def test_synthesis_gives_a_named_node_on_the_input_grid_next_to_the_input(scene):
    volume = oblique_anisotropic()
    inputNode = node_from(scene, volume, "sub01_T1")
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    study = shNode.CreateStudyItem(shNode.CreateSubjectItem(shNode.GetSceneItemID(), "sub01"), "MR 2026")
    shNode.CreateItem(study, inputNode)
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "registration")
    inputNode.SetAndObserveTransformNodeID(transform.GetID())

    out = SynthesisLogic().synthesize(inputNode, MODEL, CPU)
    assert out.GetName() == "sub01_T1-synthetic-T2" and out.IsA("vtkMRMLScalarVolumeNode")
    np.testing.assert_allclose(ijk_to_ras(out), ijk_to_ras(inputNode), atol=1e-9)
    synthetic = slicer.util.arrayFromVolume(out)
    assert synthetic.shape == volume.array.shape and not np.allclose(synthetic, volume.array)
    assert shNode.GetItemParent(shNode.GetItemByDataNode(out)) == study
    assert out.GetTransformNodeID() == transform.GetID()
    display = out.GetDisplayNode()
    head = synthetic[synthetic > np.percentile(synthetic, 60)]
    assert not display.GetAutoWindowLevel() and display.GetWindow() > 0
    assert display.GetWindowLevelMin() < np.median(head) < display.GetWindowLevelMax()
    ct = SynthesisLogic().synthesize(inputNode, "phantom-jointhist-T1-CT", CPU)  # a CT is shown as CT is read
    assert (ct.GetDisplayNode().GetWindow(), ct.GetDisplayNode().GetLevel()) == (1000.0, 400.0)
    # running again into the same node replaces its content instead of adding nodes
    count = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    assert SynthesisLogic().synthesize(inputNode, MODEL, CPU, outputNode=out) is out
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == count


@pytest.mark.torch
def test_left_handed_nifti_keeps_every_voxel_at_its_physical_position(scene, tmp_path):
    volume = oblique_anisotropic((32, 40, 24))
    affine = volume.ijk_to_ras @ np.diag([1.0, 1.0, -1.0, 1.0])  # k runs the other way: left-handed
    affine[:3, 3] = volume.ijk_to_ras[:3, 3] + volume.ijk_to_ras[:3, 2] * (volume.array.shape[0] - 1)
    data = np.ascontiguousarray(np.transpose(volume.array[::-1], (2, 1, 0)))  # nibabel is [i, j, k]
    path = tmp_path / "left.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(path))
    inputNode = node_from(scene, read_volume(path))
    out = SynthesisLogic().synthesize(inputNode, MODEL, CPU)
    matrix, values = ijk_to_ras(out), slicer.util.arrayFromVolume(out)
    reference = SynthesisLogic().synthesize(node_from(scene, volume, "right"), MODEL, CPU)
    reference_values = slicer.util.arrayFromVolume(reference)
    # the same physical point holds the same synthetic value, whichever way the file stored k
    for i, j, k in [(3, 4, 5), (16, 20, 12), (30, 38, 22)]:
        ras = affine @ [i, j, k, 1]
        ijk = np.rint(np.linalg.solve(matrix, ras)).astype(int)
        ijk_reference = np.rint(np.linalg.solve(ijk_to_ras(reference), ras)).astype(int)
        assert values[ijk[2], ijk[1], ijk[0]] == pytest.approx(
            reference_values[ijk_reference[2], ijk_reference[1], ijk_reference[0]], rel=1e-4, abs=1e-3)


@pytest.mark.torch
def test_bad_input_and_cancel_leave_the_scene_as_it_was(scene):
    labels = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "seg")
    slicer.util.updateVolumeFromArray(labels, np.ones((8, 8, 8), np.int16))
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="'seg' is a label map; choose an intensity image"):
        SynthesisLogic().synthesize(labels, MODEL, CPU)
    with pytest.raises(InputError, match="expected a scalar volume node holding an image, got nothing"):
        SynthesisLogic().synthesize(None, MODEL, CPU)
    inputNode = node_from(scene, oblique_anisotropic())
    before = scene.GetNumberOfNodes()
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        SynthesisLogic().synthesize(inputNode, "phantom-pgan-T1-T2", CPU, cancel=cancel)
    assert scene.GetNumberOfNodes() == before
