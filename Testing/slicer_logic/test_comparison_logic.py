"""Comparison with a reference: difference volume, diverging colours, Add overlay in three views, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import slicer
from medsynth.mask import foreground_mask
from medsynth.metrics import compare
from medsynth.phantom import make_subject, phantom_grid
from medsynth.resample import resample_to
from MedSynthLib.ComparisonLogic import DIFFERENCE_COLORS_NAME, ComparisonLogic
from MedSynthLib.SliceViews import renderSliceView as render
from MedSynthLib.VolumeConversion import addVolumeNode


@pytest.fixture(scope="module")
def phantom():
    return make_subject(phantom_grid((48, 56, 40)), seed=5, contrasts=("T2",)).images["T2"]


def test_difference_overlay_and_metrics(scene, views, phantom):
    synthetic = phantom.with_array(phantom.array.copy())
    k = phantom.array.shape[0] // 2
    synthetic.array[k - 3 : k + 3, 20:32, 16:28] += 300.0  # a too-bright error in the middle of the head
    syntheticNode = addVolumeNode(scene, synthetic, "syn-T2")
    referenceNode = addVolumeNode(scene, phantom, "T2")
    views["Red"].GetSliceCompositeNode().SetBackgroundVolumeID(syntheticNode.GetID())
    before = render(views["Red"])  # the synthetic image alone
    differenceNode, tableNode, metrics = ComparisonLogic().compare(syntheticNode, referenceNode)

    assert differenceNode.GetName() == "syn-T2-minus-T2"
    np.testing.assert_allclose(slicer.util.arrayFromVolume(differenceNode), synthetic.array - phantom.array,
                               atol=1e-3)
    display = differenceNode.GetDisplayNode()
    assert display.GetColorNode().GetName() == DIFFERENCE_COLORS_NAME
    assert display.GetWindowLevelMin() == pytest.approx(-display.GetWindowLevelMax()) and display.GetWindow() > 0
    for logic in views.values():
        composite = logic.GetSliceCompositeNode()
        assert composite.GetBackgroundVolumeID() == syntheticNode.GetID()
        assert composite.GetForegroundVolumeID() == differenceNode.GetID()
        assert composite.GetCompositing() == slicer.vtkMRMLSliceCompositeNode.Add
    expected = compare(synthetic, phantom, foreground_mask(phantom.array), planes=False)
    assert metrics["mask"]["psnr"] == pytest.approx(expected["mask"]["psnr"])
    table = tableNode.GetTable()
    rows = {table.GetValue(r, 0).ToString(): r for r in range(table.GetNumberOfRows())}
    assert set(rows) == {"psnr", "ssim_3d", "mae", "mse", "nmse"}
    assert table.GetValue(rows["psnr"], 1).ToDouble() == pytest.approx(expected["mask"]["psnr"])
    assert table.GetValue(rows["mae"], 2).ToDouble() == pytest.approx(expected["whole"]["mae"])
    # the axial view now shows the error in red on top of the synthetic image, and nothing elsewhere
    after = render(views["Red"]).astype(int)
    changed = np.abs(after[..., :3] - before[..., :3].astype(int)).sum(axis=2) > 30
    assert changed.any() and changed.mean() < 0.1
    assert (after[changed][:, 0] > after[changed][:, 2]).mean() > 0.9  # red, not blue: too bright


def test_reference_on_another_grid_is_resampled_onto_the_synthetic_grid(scene, views, phantom):
    coarse = resample_to(phantom, make_subject(phantom_grid((40, 44, 32)), seed=5, contrasts=("T2",)).images["T2"])
    syntheticNode = addVolumeNode(scene, phantom, "syn")
    referenceNode = addVolumeNode(scene, coarse, "coarse-T2")
    differenceNode, _, metrics = ComparisonLogic().compare(syntheticNode, referenceNode)
    assert slicer.util.arrayFromVolume(differenceNode).shape == phantom.array.shape
    assert 15 < metrics["mask"]["psnr"] < 60  # same anatomy, blurred by the coarser grid


def test_the_three_views_are_axial_sagittal_and_coronal(scene, views, phantom):
    """Each view cuts the volume in its own plane (a sagittal view of an axially stored head is not axial)."""
    node = addVolumeNode(scene, phantom, "T2")
    pictures = {}
    for name, logic in views.items():
        logic.GetSliceCompositeNode().SetBackgroundVolumeID(node.GetID())
        pictures[name] = render(logic)[..., :3].astype(int)
    normals = {name: tuple(round(v) for v in logic.GetSliceNode().GetSliceToRAS().MultiplyPoint((0, 0, 1, 0))[:3])
               for name, logic in views.items()}
    assert {tuple(abs(v) for v in n) for n in normals.values()} == {(0, 0, 1), (1, 0, 0), (0, 1, 0)}
    for other in ("Yellow", "Green"):
        assert np.abs(pictures["Red"] - pictures[other]).mean() > 5


def shifted(volume, millimetres: float):
    """The same voxels on a grid moved ``millimetres`` along R (what a misregistered copy looks like)."""
    matrix = volume.ijk_to_ras.copy()
    matrix[0, 3] += millimetres
    return type(volume)(volume.array.copy(), matrix)


@pytest.mark.parametrize("kind", ["linear", "grid"])
def test_the_reference_is_compared_where_it_lies_in_the_world(scene, phantom, kind):
    """A reference registered in Slicer sits under a parent transform that is not hardened: the comparison
    goes through it (exactly for a linear one, by hardening a copy for a non-linear one)."""
    syntheticNode = addVolumeNode(scene, phantom, "syn-T2")
    referenceNode = addVolumeNode(scene, shifted(phantom, 12.0), "T2")  # 12 mm off on its own grid...
    if kind == "linear":
        transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "registration")
        matrix = np.eye(4)
        matrix[0, 3] = -12.0  # ...and registered back by a transform
        transform.SetMatrixTransformToParent(slicer.util.vtkMatrixFromArray(matrix))
    else:  # a displacement field that does the same
        import vtk
        from vtk.util.numpy_support import vtk_to_numpy

        field = vtk.vtkImageData()
        field.SetDimensions(12, 12, 12)
        field.SetSpacing(20.0, 20.0, 20.0)
        field.SetOrigin(-110.0, -110.0, -110.0)
        field.AllocateScalars(vtk.VTK_DOUBLE, 3)
        displacement = vtk_to_numpy(field.GetPointData().GetScalars())
        displacement[:] = 0.0
        displacement[:, 0] = 12.0  # from parent (world) to the reference's own frame
        grid = slicer.vtkOrientedGridTransform()
        grid.SetDisplacementGridData(field)
        transform = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "registration")
        transform.SetAndObserveTransformFromParent(grid)
        assert not transform.IsTransformToWorldLinear()
    referenceNode.SetAndObserveTransformNodeID(transform.GetID())
    volumes = scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")
    _, _, metrics = ComparisonLogic().compare(syntheticNode, referenceNode)
    assert metrics["mask"]["psnr"] > 45 and metrics["mask"]["mae"] < 2.0  # the same image, once aligned
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == volumes + 1  # no temporary copy left
    assert referenceNode.GetTransformNodeID() == transform.GetID()  # the reference itself is not hardened
    referenceNode.SetAndObserveTransformNodeID(None)
    _, _, unaligned = ComparisonLogic().compare(syntheticNode, referenceNode)
    assert unaligned["mask"]["psnr"] < metrics["mask"]["psnr"] - 15


def test_other_intensity_scales_are_compared_in_one_normalized_space(scene, phantom):
    """A model writes its training range, a scanner its own units: with the scales that far apart both sides
    are put on their own robust scale (as `medsynth evaluate` does), and the table says so."""
    syntheticNode = addVolumeNode(scene, phantom.with_array(phantom.array / 1000.0), "syn-T2")  # 0-1 range
    referenceNode = addVolumeNode(scene, phantom, "T2")  # scanner units
    differenceNode, tableNode, metrics = ComparisonLogic().compare(syntheticNode, referenceNode)
    assert metrics["info"]["convention"] == "own-scale"
    assert metrics["mask"]["psnr"] > 60 and abs(slicer.util.arrayFromVolume(differenceNode)).max() < 1e-3
    table = tableNode.GetTable()
    assert table.GetColumnByName("intensities").GetValue(0) == "own-scale"
    _, _, raw = ComparisonLogic().compare(syntheticNode, referenceNode, convention="raw")
    assert raw["info"]["convention"] == "raw" and raw["mask"]["psnr"] < 20  # the scale difference, measured
    same = addVolumeNode(scene, phantom.with_array(phantom.array * 1.05), "syn-T2-b")
    assert ComparisonLogic().compare(same, referenceNode)[2]["info"]["convention"] == "raw"


@pytest.mark.torch  # medsynth.cli.main loads every subcommand
def test_the_module_and_medsynth_evaluate_give_the_same_figures(scene, phantom, tmp_path, capsys):
    """One comparison (pipeline.evaluate_conventions) behind both: same conventions, same metrics."""
    import csv

    from medsynth.cli.main import main
    from medsynth.io import write_volume

    synthetic = phantom.with_array(phantom.array * 0.5 + 40.0)  # another intensity scale: own-scale
    synthetic.array[20:26, 20:32, 16:28] += 150.0
    nodes = addVolumeNode(scene, synthetic, "syn"), addVolumeNode(scene, phantom, "T2")
    _, _, metrics = ComparisonLogic().compare(*nodes)  # the module's default convention: auto
    write_volume(synthetic, tmp_path / "syn.nii.gz")
    write_volume(phantom, tmp_path / "ref.nii.gz")
    assert main(["-q", "evaluate", str(tmp_path / "syn.nii.gz"), str(tmp_path / "ref.nii.gz"),
                 "--convention", "auto", "--csv", str(tmp_path / "m.csv")]) == 0
    with (tmp_path / "m.csv").open() as f:
        rows = {r["metric"]: r for r in csv.DictReader(f)}
    assert metrics["info"]["convention"] == "own-scale"
    for name in ("psnr", "ssim_3d", "mae"):
        assert float(rows[name]["mask"]) == pytest.approx(metrics["mask"][name], rel=1e-5)
