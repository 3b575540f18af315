"""Slice views without a GUI: Slicer's three default views on a scene, and the picture each one shows.

``vtkMRMLSliceLogic`` composes the background, foreground and label layers exactly as Slicer's slice views
do, but needs no OpenGL or Qt, so scripts and tests can render what a user would see (the README's
screenshot is made this way). Inside Slicer the application's own views are used instead.
"""

from __future__ import annotations

import numpy as np
import slicer
from vtk.util.numpy_support import vtk_to_numpy

VIEWS = (("Red", "Axial"), ("Yellow", "Sagittal"), ("Green", "Coronal"))


def createSliceViews(scene) -> dict:
    """Slice logics for Red (axial), Yellow (sagittal) and Green (coronal), with the default colour tables."""
    colors = slicer.vtkMRMLColorLogic()
    colors.SetMRMLScene(scene)
    logics = {"_colors": colors}
    if not scene.GetDefaultNodeByClass("vtkMRMLSliceNode"):  # Slicer's application adds the presets itself
        slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene)
    for name, orientation in VIEWS:
        logic = slicer.vtkMRMLSliceLogic()
        logic.SetMRMLScene(scene)
        logic.AddSliceNode(name).SetOrientation(orientation)
        logics[name] = logic
    return logics


def releaseSliceViews(logics: dict) -> None:
    for logic in logics.values():
        logic.SetMRMLScene(None)


def renderSliceView(logic, width: int = 96, height: int = 96) -> np.ndarray:
    """The RGBA picture of one slice view, top row first, fitted to the volumes shown."""
    logic.GetSliceNode().SetDimensions(width, height, 1)
    logic.FitSliceToAll()
    producer = logic.GetImageDataConnection().GetProducer()
    producer.Update()
    image = producer.GetOutputDataObject(0)
    columns, rows, _ = image.GetDimensions()
    return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(rows, columns, -1)[::-1]
