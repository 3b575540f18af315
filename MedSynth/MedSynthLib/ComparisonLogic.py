"""Comparison of a synthetic volume with a real reference: difference volume, overlay, metrics table.

The difference (synthetic minus reference) gets a diverging colour table centred on black and a window
symmetric about zero, so with Add compositing over the synthetic image a perfect match adds nothing and
errors show up as blue (too dark) or red (too bright) in every slice view. PSNR, SSIM and MAE inside the
foreground mask (and over the whole image) go into a table node.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from medsynth.mask import foreground_mask
from medsynth.metrics import compare
from medsynth.resample import resample_to

from .SynthesisLogic import placeNextTo, showInViews
from .VolumeConversion import updateNodeFromVolume, volumeFromNode

DIFFERENCE_COLORS_NAME = "MedSynthDifference"
TABLE_METRICS = ("psnr", "ssim_3d", "mae", "mse", "nmse")


def differenceColorNode(scene):
    """The scene's blue-black-red colour node (created once): negative, zero, positive differences."""
    node = scene.GetFirstNodeByName(DIFFERENCE_COLORS_NAME)
    if node is not None:
        return node
    node = scene.AddNewNodeByClass("vtkMRMLProceduralColorNode", DIFFERENCE_COLORS_NAME)
    function = vtk.vtkColorTransferFunction()
    function.AddRGBPoint(0.0, 0.2, 0.5, 1.0)
    function.AddRGBPoint(0.5, 0.0, 0.0, 0.0)
    function.AddRGBPoint(1.0, 1.0, 0.3, 0.1)
    node.SetAndObserveColorTransferFunction(function)
    node.SetAttribute("Category", "MedSynth")
    return node


class ComparisonLogic:
    """Compare a synthetic volume node with a reference volume node."""

    def __init__(self, scene=None) -> None:
        self.scene = scene

    def compare(self, syntheticNode, referenceNode, mask: np.ndarray | None = None,
                differenceNode=None, tableNode=None) -> tuple:
        """Returns ``(differenceNode, tableNode, metrics)``; the reference is resampled (linearly) onto
        the synthetic grid when the grids differ. ``mask`` defaults to the reference's foreground."""
        scene = self.scene or slicer.mrmlScene
        synthetic = volumeFromNode(syntheticNode)
        reference = resample_to(volumeFromNode(referenceNode), synthetic)
        region = foreground_mask(reference.array) if mask is None else np.asarray(mask, dtype=bool)
        metrics = compare(synthetic, reference, region, planes=False)
        difference = synthetic.with_array(synthetic.array - reference.array)
        if differenceNode is None:
            differenceNode = scene.AddNewNodeByClass(
                "vtkMRMLScalarVolumeNode", f"{syntheticNode.GetName()}-minus-{referenceNode.GetName()}")
        updateNodeFromVolume(differenceNode, difference)
        differenceNode.CreateDefaultDisplayNodes()
        display = differenceNode.GetDisplayNode()
        display.SetAndObserveColorNodeID(differenceColorNode(scene).GetID())
        extent = float(np.percentile(np.abs(difference.array[region]), 99)) if region.any() else 1.0
        display.AutoWindowLevelOff()
        display.SetWindowLevelMinMax(-max(extent, 1e-6), max(extent, 1e-6))
        placeNextTo(differenceNode, syntheticNode)
        tableNode = self.metricsTable(scene, metrics, f"{syntheticNode.GetName()} metrics", tableNode)
        showInViews(scene, syntheticNode, differenceNode)
        return differenceNode, tableNode, metrics

    @staticmethod
    def metricsTable(scene, metrics: dict, name: str, tableNode=None):
        """One row per metric; columns for the mask and the whole image."""
        tableNode = tableNode or scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        table = tableNode.GetTable()
        table.Initialize()
        columns = [vtk.vtkStringArray(), vtk.vtkDoubleArray(), vtk.vtkDoubleArray()]
        for column, title in zip(columns, ("metric", "mask", "whole image"), strict=True):
            column.SetName(title)
            table.AddColumn(column)
        for key in TABLE_METRICS:
            columns[0].InsertNextValue(key)
            columns[1].InsertNextValue(metrics["mask"][key])
            columns[2].InsertNextValue(metrics["whole"][key])
        tableNode.Modified()
        return tableNode
