"""The MedSynth module's state in the scene: every setting and result reference in one parameter node.

``SynthesisParameters`` is the one definition of the module's parameters (the GUI's
``@parameterNodeWrapper`` class is derived from it, see ``ModuleParameters``). Settings are stored as the
node's parameters, volumes and tables as its node references, so saving a scene saves the module's state
and loading it restores the state, including which outputs belong to which input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from medsynth.core.errors import ConfigError
from medsynth.core.limits import parse_patch_setting
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLTableNode

from .Choices import AXES, COMPARISONS, DEVICES, MODES, PRECISIONS, UNCERTAINTY_METHODS, optionDefault
from .ModuleParameters import ModuleParameters, OneOf, getParameterNode

MODULE_NAME = "MedSynth"
MAX_INPUTS = 3

__all__ = [
    "MODULE_NAME",
    "SynthesisParameters",
    "defaultInputVolume",
    "getParameterNode",
    "inputContrastsOf",
    "strideProblem",
]


def strideProblem(text: str) -> str | None:
    """Why ``text`` is no patch stride, or None: the check the card and the command line use
    (``medsynth.core.limits``). The field takes every keystroke as typed ("f", "fu", ...), so the node may hold
    such text at any time: it is refused when a run starts and shown by the widget, never raised while the
    node is read."""
    return parse_patch_setting("stride", text, "patch stride")[1]


def defaultInputVolume(scene):
    """The first plain scalar volume of ``scene`` (one component; not a label map, vector or tensor volume,
    which Slicer also derives from vtkMRMLScalarVolumeNode), or None: the input the module proposes."""
    nodes = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    for index in range(nodes.GetNumberOfItems()):
        node = nodes.GetItemAsObject(index)
        image = node.GetImageData()
        if node.GetClassName() == "vtkMRMLScalarVolumeNode" and (image is None or image.GetNumberOfScalarComponents()
                                                                   == 1):
            return node
    return None


def inputContrastsOf(mapping: str) -> list[str]:
    """A mapping's inputs in order (``"T1+T2->FLAIR"``: T1, T2)."""
    return mapping.split("->")[0].split("+")


@dataclass
class SynthesisParameters(ModuleParameters):
    moduleName: ClassVar[str] = MODULE_NAME

    inputVolume: vtkMRMLScalarVolumeNode = None
    secondInputVolume: vtkMRMLScalarVolumeNode = None  # many-to-one models: input 2, co-registered with the first
    thirdInputVolume: vtkMRMLScalarVolumeNode = None
    referenceVolume: vtkMRMLScalarVolumeNode = None  # optional real target for the comparison
    mapping: str = "T1->T2"
    architecture: str = ""  # "" = the mapping's default model
    model: str = ""  # catalog name or model file; "" = chosen from mapping and architecture
    mode: Annotated[str, OneOf(MODES)] = "auto"  # auto (the model's own), slice or patch
    # the inference settings start from InferenceOptions' defaults (declared once, in medsynth.core.options)
    axis: Annotated[str, OneOf(AXES)] = optionDefault("axis")  # slice plane for 2D models
    device: Annotated[str, OneOf(DEVICES)] = optionDefault("device")
    precision: Annotated[str, OneOf(PRECISIONS)] = optionDefault("precision")
    patchStride: str = ""  # 3D models: "" (the model's), "full", or voxels
    comparison: Annotated[str, OneOf(COMPARISONS)] = "auto"  # intensity convention of difference and metrics
    uncertainty: bool = False  # also make the uncertainty map (expected error or ensemble SD): a heat overlay
    uncertaintyMethod: Annotated[str, OneOf(UNCERTAINTY_METHODS)] = optionDefault("uncertainty")  # how it is made
    skullStrip: bool = False  # extract the brain of a skull-on input first (medsynth.skull_strip)
    outputVolume: vtkMRMLScalarVolumeNode = None
    uncertaintyVolume: vtkMRMLScalarVolumeNode = None
    differenceVolume: vtkMRMLScalarVolumeNode = None
    metricsTable: vtkMRMLTableNode = None


    @property
    def target(self) -> str:
        return self.mapping.split("->")[-1]

    @property
    def inputContrasts(self) -> list[str]:
        return inputContrastsOf(self.mapping)

    def inputNodes(self, count: int) -> list:
        """The first ``count`` input nodes (``None`` where not chosen); a module offers at most three."""
        if count > MAX_INPUTS:
            raise ConfigError(f"the model takes {count} inputs; this module offers at most {MAX_INPUTS}")
        return [self.inputVolume, self.secondInputVolume, self.thirdInputVolume][:count]

    def inferenceOptions(self):
        """The ``medsynth.inference.InferenceOptions`` of these settings."""
        from medsynth.inference import InferenceOptions

        problem = strideProblem(self.patchStride)
        if problem:
            raise ConfigError(problem)
        stride = parse_patch_setting("stride", self.patchStride)[0]
        return InferenceOptions(axis=self.axis, device=self.device, precision=self.precision, stride=stride,
                                uncertainty=self.uncertaintyMethod)

    def chooseModel(self, catalog):
        """The ``ModelChoice`` these settings select in ``catalog`` (a ``ModelCatalog``)."""
        return catalog.choose(self.mapping, self.architecture, self.mode, self.model)
