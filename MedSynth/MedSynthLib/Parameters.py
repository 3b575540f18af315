"""The module's state in the scene: every setting and result reference in one parameter node.

``SynthesisParameters`` is a typed view of the MedSynth singleton ``vtkMRMLScriptedModuleNode``:
settings are stored as its parameters (text), volumes and tables as its node references, so saving a
scene saves the module's state and loading it restores the state, including which outputs belong to
which input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import slicer
from medsynth.errors import ConfigError
from medsynth.volume import PLANES

MODULE_NAME = "MedSynth"
MODES = ("auto", "slice", "patch")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "bf16", "fp16")
NODE_FIELDS = ("inputVolume", "referenceVolume", "outputVolume", "differenceVolume", "metricsTable")


@dataclass
class SynthesisParameters:
    inputVolume: object = None
    referenceVolume: object = None  # optional real target for the comparison
    mapping: str = "T1->T2"
    architecture: str = ""  # "" = the mapping's default model
    model: str = ""  # catalog name or model file; "" = chosen from mapping and architecture
    mode: str = "auto"  # auto (the model's own), slice or patch
    axis: str = "auto"  # slice plane for 2D models
    device: str = "auto"
    precision: str = "fp32"
    patchStride: str = ""  # 3D models: "" (the model's), "full", or voxels
    outputVolume: object = None
    differenceVolume: object = None
    metricsTable: object = None

    def __post_init__(self) -> None:
        checks = {"mode": MODES, "axis": ("auto", *PLANES), "device": DEVICES, "precision": PRECISIONS}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got '{getattr(self, name)}'")
        if self.patchStride not in ("", "full") and not self.patchStride.isdigit():
            raise ConfigError(f"patch stride must be empty (the model's), 'full' or voxels, got '{self.patchStride}'")

    def write(self, parameterNode) -> None:
        """Store every field in ``parameterNode`` (one Modified event)."""
        wasModifying = parameterNode.StartModify()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in NODE_FIELDS:
                parameterNode.SetNodeReferenceID(field.name, value.GetID() if value is not None else None)
            else:
                parameterNode.SetParameter(field.name, value)
        parameterNode.EndModify(wasModifying)

    @classmethod
    def read(cls, parameterNode) -> SynthesisParameters:
        """The fields stored in ``parameterNode``; missing ones keep their defaults."""
        values, stored = {}, set(parameterNode.GetParameterNames() or ())
        for field in dataclasses.fields(cls):
            if field.name in NODE_FIELDS:
                values[field.name] = parameterNode.GetNodeReference(field.name)
            elif field.name in stored:
                values[field.name] = parameterNode.GetParameter(field.name)
        return cls(**values)


def getParameterNode(scene=None):
    """The scene's MedSynth parameter node, created on first use (as Slicer's scripted modules do)."""
    scene = scene or slicer.mrmlScene
    node = scene.GetSingletonNode(MODULE_NAME, "vtkMRMLScriptedModuleNode")
    if node is None:
        node = slicer.vtkMRMLScriptedModuleNode()
        node.SetSingletonTag(MODULE_NAME)
        node.SetModuleName(MODULE_NAME)
        node.SetName(MODULE_NAME)
        node = scene.AddNode(node)
    return node
