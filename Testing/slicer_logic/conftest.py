"""A real MRML scene from the `slicer-core` wheel (no Qt, no application) for every Slicer-side test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

slicer = pytest.importorskip("slicer", reason="the slicer-core wheel (pip install -e .[slicer]) is needed")
if not hasattr(slicer, "vtkMRMLScene"):
    raise ImportError("the 'slicer' package found is not slicer-core (PyPI slicer==0.0.8 clobbers it)")

ROOT = Path(__file__).resolve().parents[2]
for module in ("MedSynth", "MedSynthTrain"):  # MedSynthLib and MedSynthTrainLib, as Slicer sees them
    sys.path.insert(0, str(ROOT / module))


@pytest.fixture
def scene():
    """A bare scene. Unlike the Slicer application, it gives data nodes no subject hierarchy item by
    itself: tests create the items a user's scene would have."""
    scene = slicer.vtkMRMLScene()
    slicer.mrmlScene = scene
    yield scene
    scene.Clear(True)
    slicer.mrmlScene = None


@pytest.fixture
def views(scene):
    """The three slice views of Slicer's default layout (axial, sagittal, coronal), with the default colour
    tables, so a test can render what a user would see (no OpenGL needed)."""
    from MedSynthLib.SliceViews import createSliceViews, releaseSliceViews

    logics = createSliceViews(scene)
    yield {name: logic for name, logic in logics.items() if not name.startswith("_")}
    releaseSliceViews(logics)
