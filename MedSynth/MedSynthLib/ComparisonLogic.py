"""Comparison of a synthetic volume with a real reference: difference volume, overlay, metrics table.

The two are compared where they lie in the world: a reference under a parent transform (the usual result
of registering it in Slicer) is taken through that transform (exactly for a linear one; a non-linear one
is hardened on a temporary copy) before it is resampled onto the synthetic grid. Intensities are put on
one scale first, as ``medsynth evaluate`` does (``medsynth.core.conventions``): by default raw when both are on
one scale, else each image by its own robust range inside the mask, so the map shows the synthesis error
and not the difference between a model's training range and the scanner's units. The table says which.

The difference (synthetic minus reference) gets a diverging colour table centred on black and a window
symmetric about zero, so with Add compositing over the synthetic image a perfect match adds nothing and
errors show up as blue (too dark) or red (too bright) in every slice view.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from medsynth.core.errors import InputError
from medsynth.pipeline import evaluate_conventions
from medsynth.volume import Volume

from .OutputNodes import checkNotAcquired, colorNode, placeNextTo, showInViews
from .VolumeConversion import updateNodeFromVolume, volumeFromNode

DIFFERENCE_COLORS_NAME = "MedSynthDifference"
TABLE_METRICS = ("psnr", "ssim_3d", "mae", "mse", "nmse")


def differenceColorNode(scene):
    """The scene's blue-black-red colour node (created once): negative, zero, positive differences."""
    return colorNode(scene, DIFFERENCE_COLORS_NAME, ((0.0, 0.2, 0.5, 1.0), (0.5, 0.0, 0.0, 0.0), (1.0, 1.0, 0.3, 0.1)))


def linearWorldVolume(node) -> Volume:
    """``node``'s voxels on its grid in world coordinates; its parent transforms must be linear."""
    volume = volumeFromNode(node)
    parent = node.GetParentTransformNode()
    if parent is None:
        return volume
    if not parent.IsTransformToWorldLinear():
        raise InputError(f"'{node.GetName()}' lies under a non-linear transform: harden it (Data module, right-click "
                         "the transform, 'Harden transform') before comparing with it")
    matrix = vtk.vtkMatrix4x4()
    parent.GetMatrixTransformToWorld(matrix)
    return Volume(volume.array, slicer.util.arrayFromVTKMatrix(matrix) @ volume.ijk_to_ras)


def worldVolume(node) -> Volume:
    """``node``'s image in world coordinates, through any parent transform: a linear one changes only the
    grid; a non-linear one is applied by hardening a temporary copy (the node itself is not touched)."""
    parent = node.GetParentTransformNode()
    if parent is None or parent.IsTransformToWorldLinear():
        return linearWorldVolume(node)
    scene = node.GetScene()
    clone = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"{node.GetName()} (MedSynth, hardened)")
    try:
        updateNodeFromVolume(clone, volumeFromNode(node))
        clone.SetAndObserveTransformNodeID(parent.GetID())
        slicer.vtkSlicerTransformLogic.hardenTransform(clone)
        return volumeFromNode(clone)
    finally:
        scene.RemoveNode(clone)


class ComparisonLogic:
    """Compare a synthetic volume node with a reference volume node."""

    def __init__(self, scene=None) -> None:
        self.scene = scene

    def compare(self, syntheticNode, referenceNode, mask: np.ndarray | None = None,
                differenceNode=None, tableNode=None, convention: str = "auto") -> tuple:
        """Returns ``(differenceNode, tableNode, metrics)``; ``metrics["info"]["convention"]`` names the
        intensity convention used. The reference is resampled (linearly, in world coordinates) onto the
        synthetic grid. ``mask`` defaults to the reference's foreground."""
        scene = self.scene or slicer.mrmlScene
        checkNotAcquired(differenceNode, "difference volume", {"synthetic": syntheticNode, "reference": referenceNode})
        synthetic = linearWorldVolume(syntheticNode)
        given = None if mask is None else synthetic.with_array(np.asarray(mask, dtype=np.uint8))
        # the comparison `medsynth evaluate` makes (same resampling, guards, conventions and metrics)
        evaluation = evaluate_conventions(synthetic, worldVolume(referenceNode), given, conventions=(convention,),
                                          planes=False)[convention]
        metrics, region = evaluation.metrics, evaluation.mask
        metrics["info"]["convention"] = evaluation.convention
        s, r = evaluation.synthetic.array, evaluation.reference.array
        difference = volumeFromNode(syntheticNode).with_array((s - r).astype(np.float32))  # the synthetic's grid
        if differenceNode is None:
            differenceNode = scene.AddNewNodeByClass(
                "vtkMRMLScalarVolumeNode", f"{syntheticNode.GetName()}-minus-{referenceNode.GetName()}")
        updateNodeFromVolume(differenceNode, difference)
        differenceNode.CreateDefaultDisplayNodes()
        display = differenceNode.GetDisplayNode()
        display.SetAndObserveColorNodeID(differenceColorNode(scene).GetID())
        extent = float(np.percentile(np.abs(difference.array[region]), 99))
        display.AutoWindowLevelOff()
        display.SetWindowLevelMinMax(-max(extent, 1e-6), max(extent, 1e-6))
        placeNextTo(differenceNode, syntheticNode)
        tableNode = self.metricsTable(scene, metrics, f"{syntheticNode.GetName()} metrics", tableNode)
        showInViews(scene, syntheticNode, differenceNode)
        return differenceNode, tableNode, metrics

    @staticmethod
    def metricsTable(scene, metrics: dict, name: str, tableNode=None):
        """One row per metric; columns for the mask, the whole image, and the intensities compared."""
        tableNode = tableNode or scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        table = tableNode.GetTable()
        table.Initialize()
        columns = [vtk.vtkStringArray(), vtk.vtkDoubleArray(), vtk.vtkDoubleArray(), vtk.vtkStringArray()]
        for column, title in zip(columns, ("metric", "mask", "whole image", "intensities"), strict=True):
            column.SetName(title)
            table.AddColumn(column)
        for key in TABLE_METRICS:
            columns[0].InsertNextValue(key)
            columns[1].InsertNextValue(metrics["mask"][key])
            columns[2].InsertNextValue(metrics["whole"][key])
            columns[3].InsertNextValue(metrics["info"]["convention"])
        tableNode.SetAttribute("MedSynth.intensityConvention", metrics["info"]["convention"])
        tableNode.Modified()
        return tableNode
