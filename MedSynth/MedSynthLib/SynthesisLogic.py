"""Synthesis on volume nodes: the console and batch API behind the MedSynth module.

``SynthesisLogic().synthesize(inputNode, model="phantom-pgan-T1-T2")`` runs a model on a volume node and
returns a new scalar volume node on exactly the input's grid, named after the input and the target
contrast, placed next to the input in the subject hierarchy (and under the same parent transform), with
a window/level that shows the synthetic anatomy. This call blocks; the module's GUI runs the same work in
a background process instead.
"""

from __future__ import annotations

import numpy as np
import slicer
from medsynth.catalog import resolve_model
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.inference import InferenceOptions, synthesize
from medsynth.mask import foreground_mask
from medsynth.progress import CancelToken, ProgressCallback
from medsynth.volume import Volume

from .VolumeConversion import updateNodeFromVolume, volumeFromNode


def outputName(inputNode, targetContrast: str) -> str:
    return f"{inputNode.GetName()}-synthetic-{targetContrast}"


def placeNextTo(node, reference) -> None:
    """Same subject hierarchy parent and the same parent transform as ``reference``."""
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(node.GetScene())
    referenceItem = shNode.GetItemByDataNode(reference)
    parent = shNode.GetItemParent(referenceItem) if referenceItem else shNode.GetSceneItemID()
    item = shNode.GetItemByDataNode(node)
    if item:
        shNode.SetItemParent(item, parent)
    else:  # a scene without Slicer's subject hierarchy logic (a bare scene in a script)
        shNode.CreateItem(parent, node)
    node.SetAndObserveTransformNodeID(reference.GetTransformNodeID())


SLICE_VIEWS = ("Red", "Yellow", "Green")  # axial, sagittal, coronal in Slicer's default layouts


def showInViews(scene, background, foreground=None) -> None:
    """``background`` in the axial, sagittal and coronal slice views; ``foreground`` (a difference map), if
    given, added on top of it (Add compositing, full opacity), else none."""
    composites = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    for index in range(composites.GetNumberOfItems()):
        composite = composites.GetItemAsObject(index)
        if composite.GetLayoutName() not in SLICE_VIEWS:
            continue
        composite.SetBackgroundVolumeID(background.GetID())
        composite.SetForegroundVolumeID(foreground.GetID() if foreground is not None else None)
        if foreground is not None:
            composite.SetForegroundOpacity(1.0)
            composite.SetCompositing(slicer.vtkMRMLSliceCompositeNode.Add)


def setWindowLevelFromForeground(node, array: np.ndarray) -> None:
    """Window the 0.5-99.5th percentiles of the head (the background would squeeze the contrast)."""
    mask = foreground_mask(array)
    values = array[mask] if mask.any() else array.ravel()
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    display = node.GetDisplayNode()
    display.AutoWindowLevelOff()
    display.SetWindowLevelMinMax(lo, hi if hi > lo else lo + 1.0)


def storeResult(inputNode, result: Volume, targetContrast: str, outputNode=None, scene=None):
    """``result`` in ``outputNode`` (created, and named after the input, if ``None``), displayed, and
    placed next to ``inputNode``."""
    if outputNode is None:
        scene = scene or inputNode.GetScene() or slicer.mrmlScene
        outputNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", outputName(inputNode, targetContrast))
    updateNodeFromVolume(outputNode, result)
    outputNode.CreateDefaultDisplayNodes()
    setWindowLevelFromForeground(outputNode, result.array)
    placeNextTo(outputNode, inputNode)
    return outputNode


class SynthesisLogic:
    """Run MedSynth models on volume nodes of a scene (``slicer.mrmlScene`` unless given)."""

    def __init__(self, scene=None) -> None:
        self.scene = scene

    def loadModel(self, model: str | LoadedModel) -> LoadedModel:
        """A catalog name or a model file (its card validated), or an already loaded model."""
        return model if isinstance(model, LoadedModel) else load_model(resolve_model(model))

    def synthesize(self, inputNode, model: str | LoadedModel, options: InferenceOptions | None = None,
                   outputNode=None, progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None):
        """Synthesize the model's target contrast from ``inputNode``; returns the output volume node.

        ``outputNode`` is reused if given (its voxels and grid are replaced), else created. On an error
        or a cancel, nothing is added to the scene and a given ``outputNode`` is left as it was.
        """
        loaded = self.loadModel(model)
        result = synthesize(volumeFromNode(inputNode), loaded, options, progress=progress, cancel=cancel)
        return storeResult(inputNode, result, loaded.card.target_contrast, outputNode, self.scene)
