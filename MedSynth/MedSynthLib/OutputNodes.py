"""Where a synthesis result goes in the scene: its node, name, place, display, and which run made it.

Every output node records the input node, the mapping and the model it was made from (node attributes, saved
with the scene), and links the difference map, metrics table, uncertainty map and trust mask made with it
(node references). A later run reuses an output only if it was made from the same input with the same mapping and
model; otherwise the earlier result of that model, if any, or a new node: a T1->PD run never overwrites
"<input>-synthetic-T2", and a second model's T2 ("<input>-synthetic-T2 (<model>)") never overwrites the
first's, so two models can be compared side by side. An acquired volume (any input, or the reference) is
never accepted as an output. Imports no torch: the module's GUI stores results of a background run with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import slicer
import vtk
from medsynth.core.contrasts import CONTRASTS
from medsynth.core.errors import InputError
from medsynth.mask import foreground_mask
from medsynth.volume import Volume

from .VolumeConversion import updateNodeFromVolume

INPUT_ATTRIBUTE, MAPPING_ATTRIBUTE, MODEL_ATTRIBUTE = "MedSynth.inputNodeID", "MedSynth.mapping", "MedSynth.model"
# node references from an output
COMPANIONS = ("differenceVolume", "metricsTable", "uncertaintyVolume", "trustMask", "brainMask")
SLICE_VIEWS = ("Red", "Yellow", "Green")  # axial, sagittal, coronal in Slicer's default layouts
UNCERTAINTY_COLORS_NAME = "MedSynthUncertainty"
HEAT = ((0.0, 0.0, 0.0, 0.0), (0.35, 0.7, 0.0, 0.0), (0.7, 1.0, 0.6, 0.0), (1.0, 1.0, 1.0, 0.8))  # dark-red-yellow
UNCERTAINTY_OPACITY = 0.6
TRUST_MASK_OPACITY = 0.5


def outputName(inputNode, targetContrast: str, modelName: str = "", scene=None) -> str:
    """``<input>-synthetic-<target>``; once that name is taken (another model's result), the model's name is
    added: ``<input>-synthetic-<target> (<model>)``."""
    name = f"{inputNode.GetName()}-synthetic-{targetContrast}"
    if modelName and scene is not None and scene.GetFirstNodeByName(name) is not None:
        name = f"{name} ({modelName})"
    return name


def markOutput(node, inputNode, mapping: str, model: str = "") -> None:
    node.SetAttribute(INPUT_ATTRIBUTE, inputNode.GetID())
    node.SetAttribute(MAPPING_ATTRIBUTE, mapping)
    if model:
        node.SetAttribute(MODEL_ATTRIBUTE, model)


def madeFrom(node, inputNode, mapping: str, model: str = "") -> bool:
    """Whether ``node`` is a MedSynth output of ``inputNode`` with ``mapping`` (and ``model``, when given:
    a catalog name or model file), or holds no MedSynth result at all (a node the user made for the output)."""
    made = node.GetAttribute(MAPPING_ATTRIBUTE)
    if made is None:
        return True
    same = made == mapping and node.GetAttribute(INPUT_ATTRIBUTE) == inputNode.GetID()
    return same and (not model or node.GetAttribute(MODEL_ATTRIBUTE) == model)


def findOutput(scene, inputNode, mapping: str, model: str):
    """The output an earlier run of ``model`` made from ``inputNode`` with ``mapping``, or None."""
    nodes = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    for index in range(nodes.GetNumberOfItems()):
        node = nodes.GetItemAsObject(index)
        if node.GetAttribute(MAPPING_ATTRIBUTE) is not None and madeFrom(node, inputNode, mapping, model):
            return node
    return None


def linkCompanions(outputNode, **nodes) -> None:
    """Remember which difference map, metrics table, uncertainty map and trust mask belong to ``outputNode``."""
    for role, node in nodes.items():
        if role in COMPANIONS and node is not None:
            outputNode.SetNodeReferenceID(f"MedSynth.{role}", node.GetID())


def companions(outputNode) -> dict:
    """``{role: node or None}`` for the nodes linked to ``outputNode`` (all None without one)."""
    return {role: outputNode.GetNodeReference(f"MedSynth.{role}") if outputNode is not None else None
            for role in COMPANIONS}


def checkNotAcquired(node, role: str, acquired: dict) -> None:
    """Refuse ``node`` as ``role`` if it is one of the ``acquired`` volumes ({"input": node, ...})."""
    for what, volume in acquired.items():
        if node is not None and volume is not None and node.GetID() == volume.GetID():
            raise InputError(f"the {role} '{node.GetName()}' is the {what} volume: writing there would destroy "
                             f"an acquired image; choose another {role}, or none to create a new one")


def acquiredVolumes(inputNodes, referenceNode=None) -> dict:
    """The acquired volumes of a run, by role, for ``checkNotAcquired``: every input, and the reference."""
    roles = {"input" if number == 0 else f"input {number + 1}": node for number, node in enumerate(inputNodes)}
    return {**roles, "reference": referenceNode}


def reusableOutput(node, inputNode, mapping: str, referenceNode=None, model: str = "", extraInputNodes=()):
    """``node`` if the next run of ``model`` with ``mapping`` on ``inputNode`` may write into it, else None (a
    new node). An acquired volume (any input, or the reference) is refused."""
    if node is None:
        return None
    checkNotAcquired(node, "output volume", acquiredVolumes([inputNode, *extraInputNodes], referenceNode))
    return node if madeFrom(node, inputNode, mapping, model) else None


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


def colorNode(scene, name: str, points) -> object:
    """The scene's procedural colour node ``name`` (created once) through ``(position, r, g, b)`` points."""
    node = scene.GetFirstNodeByName(name)
    if node is not None:
        return node
    node = scene.AddNewNodeByClass("vtkMRMLProceduralColorNode", name)
    function = vtk.vtkColorTransferFunction()
    for position, red, green, blue in points:
        function.AddRGBPoint(position, red, green, blue)
    node.SetAndObserveColorTransferFunction(function)
    node.SetAttribute("Category", "MedSynth")
    return node


def storeUncertainty(outputNode, uncertainty: Volume, uncertaintyNode=None):
    """The uncertainty map of ``outputNode`` in ``uncertaintyNode`` (created if ``None``) as a heat map: zero
    (outside the head, or full agreement) transparent, the 99th percentile of the head at full colour."""
    scene = outputNode.GetScene()
    if uncertaintyNode is None:
        uncertaintyNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"{outputNode.GetName()}-uncertainty")
    updateNodeFromVolume(uncertaintyNode, uncertainty)
    uncertaintyNode.CreateDefaultDisplayNodes()
    display = uncertaintyNode.GetDisplayNode()
    display.SetAndObserveColorNodeID(colorNode(scene, UNCERTAINTY_COLORS_NAME, HEAT).GetID())
    inside = uncertainty.array[uncertainty.array > 0]
    top = float(np.percentile(inside, 99)) if inside.size else 1.0
    display.AutoWindowLevelOff()
    display.SetWindowLevelMinMax(0.0, max(top, 1e-6))
    display.SetApplyThreshold(True)
    display.SetLowerThreshold(0.02 * max(top, 1e-6))  # no tint where the ensemble agrees
    placeNextTo(uncertaintyNode, outputNode)
    return uncertaintyNode


def showUncertainty(scene, outputNode, uncertaintyNode) -> None:
    """The synthetic volume in the three slice views with its uncertainty map over it, half transparent."""
    showInViews(scene, outputNode, uncertaintyNode)
    composites = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    for index in range(composites.GetNumberOfItems()):
        composite = composites.GetItemAsObject(index)
        if composite.GetLayoutName() in SLICE_VIEWS:
            composite.SetForegroundOpacity(UNCERTAINTY_OPACITY)
            composite.SetCompositing(slicer.vtkMRMLSliceCompositeNode.Alpha)


LABEL_MAPS = {"trustMask": "untrusted", "brainMask": "brain"}  # companion label maps: role -> name suffix


def storeLabelMap(outputNode, labels: Volume, role: str):
    """A label map of ``outputNode`` (``role``: the trust mask, 1 where the input holds tissue unlike any the
    model was trained on or unlike the other hemisphere the way lesions are; the brain mask of a skull-stripped
    run) in the node an earlier run linked to it, else a new ``<output>-untrusted`` / ``<output>-brain``."""
    node = companions(outputNode)[role]
    if node is None:
        node = outputNode.GetScene().AddNewNodeByClass("vtkMRMLLabelMapVolumeNode",
                                                       f"{outputNode.GetName()}-{LABEL_MAPS[role]}")
    updateNodeFromVolume(node, labels)
    node.CreateDefaultDisplayNodes()
    placeNextTo(node, outputNode)
    linkCompanions(outputNode, **{role: node})
    return node


def showTrustMask(scene, trustNode) -> None:
    """The trust mask as the label layer of the three slice views, half transparent."""
    composites = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    for index in range(composites.GetNumberOfItems()):
        composite = composites.GetItemAsObject(index)
        if composite.GetLayoutName() in SLICE_VIEWS:
            composite.SetLabelVolumeID(trustNode.GetID())
            composite.SetLabelOpacity(TRUST_MASK_OPACITY)


def setWindowLevelFromForeground(node, array: np.ndarray, contrast: str = "") -> None:
    """Window the 0.5-99.5th percentiles of the head (the background would squeeze the contrast); a CT gets
    its fixed window in HU, as CT is read (``Contrast.display_window_level``)."""
    fixed = CONTRASTS[contrast].display_window_level if contrast in CONTRASTS else None
    if fixed is not None:
        display = node.GetDisplayNode()
        display.AutoWindowLevelOff()
        display.SetWindowLevel(*fixed)
        return
    mask = foreground_mask(array)
    values = array[mask] if mask.any() else array.ravel()
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    display = node.GetDisplayNode()
    display.AutoWindowLevelOff()
    display.SetWindowLevelMinMax(lo, hi if hi > lo else lo + 1.0)


def storeResult(inputNode, result: Volume, mapping: str, outputNode=None, scene=None, model: str = "",
                modelName: str = ""):
    """``result`` in ``outputNode`` (created, and named after the input and the model, if ``None``), displayed,
    placed next to ``inputNode``, and marked as made from it with ``mapping`` and ``model``."""
    target = mapping.split("->")[-1]
    if outputNode is None:
        scene = scene or inputNode.GetScene() or slicer.mrmlScene
        outputNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", outputName(inputNode, target, modelName, scene))
    updateNodeFromVolume(outputNode, result)
    outputNode.CreateDefaultDisplayNodes()
    setWindowLevelFromForeground(outputNode, result.array, target)
    placeNextTo(outputNode, inputNode)
    markOutput(outputNode, inputNode, mapping, model)
    return outputNode


@dataclass
class StoredSynthesis:
    """A run's nodes in the scene, and the input's out-of-domain warnings."""

    output: Any  # vtkMRMLScalarVolumeNode
    uncertainty: Any = None  # vtkMRMLScalarVolumeNode when an uncertainty map was made
    warnings: list[str] = field(default_factory=list)
    trustMask: Any = None  # vtkMRMLLabelMapVolumeNode when the model's card records its training inputs
    brainMask: Any = None  # vtkMRMLLabelMapVolumeNode of a skull-stripped run
    uncertainShare: float | None = None  # of the head above the model's calibrated error threshold


def storeSynthesis(inputNode, synthesis, mapping: str, outputNode=None, uncertaintyNode=None,
                   scene=None, model: str = "", modelName: str = "") -> StoredSynthesis:
    """A ``medsynth.inference.Synthesis`` into the scene: the image (``storeResult``), its uncertainty map, its
    trust mask and brain mask. ``model``: the catalog name or model file that made it; ``modelName``: its card's
    name."""
    output = storeResult(inputNode, synthesis.image, mapping, outputNode, scene, model, modelName)
    uncertainty = None
    if synthesis.uncertainty is not None:
        uncertainty = storeUncertainty(output, synthesis.uncertainty, uncertaintyNode)
        linkCompanions(output, uncertaintyVolume=uncertainty)
    trust = None if synthesis.untrusted is None else storeLabelMap(output, synthesis.untrusted, "trustMask")
    brain = None if synthesis.brain is None else storeLabelMap(output, synthesis.brain, "brainMask")
    return StoredSynthesis(output, uncertainty, list(synthesis.warnings), trust, brain, synthesis.uncertain_share)
