"""The MedSynth module's state in the scene: every setting and result reference in one parameter node.

``SynthesisParameters`` is the one definition of the module's parameters (the GUI's
``@parameterNodeWrapper`` class is derived from it, see ``ModuleParameters``). Settings are stored as the
node's parameters, volumes and tables as its node references, so saving a scene saves the module's state
and loading it restores the state, including which outputs belong to which input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from medsynth.errors import ConfigError
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLTableNode

from .Choices import AXES, COMPARISONS, DEVICES, MODES, PRECISIONS
from .ModuleParameters import ModuleParameters, OneOf, getParameterNode

MODULE_NAME = "MedSynth"
MAX_INPUTS = 3

__all__ = ["MODULE_NAME", "SynthesisParameters", "getParameterNode", "inputContrastsOf"]


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
    axis: Annotated[str, OneOf(AXES)] = "auto"  # slice plane for 2D models
    device: Annotated[str, OneOf(DEVICES)] = "auto"
    precision: Annotated[str, OneOf(PRECISIONS)] = "fp32"
    patchStride: str = ""  # 3D models: "" (the model's), "full", or voxels
    comparison: Annotated[str, OneOf(COMPARISONS)] = "auto"  # intensity convention of difference and metrics
    uncertainty: bool = False  # also make the test-time ensemble's SD map, shown as a heat overlay
    outputVolume: vtkMRMLScalarVolumeNode = None
    uncertaintyVolume: vtkMRMLScalarVolumeNode = None
    differenceVolume: vtkMRMLScalarVolumeNode = None
    metricsTable: vtkMRMLTableNode = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.patchStride not in ("", "full") and not self.patchStride.isdigit():
            raise ConfigError(f"patch stride must be empty (the model's), 'full' or voxels, got '{self.patchStride}'")

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

        stride = int(self.patchStride) if self.patchStride.isdigit() else (self.patchStride or None)
        if stride == 0:
            raise ConfigError("patch stride must be at least 1 voxel (or 'full', or empty for the model's)")
        return InferenceOptions(axis=self.axis, device=self.device, precision=self.precision, stride=stride)

    def chooseModel(self, catalog):
        """The ``ModelChoice`` these settings select in ``catalog`` (a ``ModelCatalog``)."""
        return catalog.choose(self.mapping, self.architecture, self.mode, self.model)
