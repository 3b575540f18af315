"""The module's state in the scene: every setting and result reference in one parameter node.

``SynthesisParameters`` is a typed view of the MedSynth singleton ``vtkMRMLScriptedModuleNode``:
settings are stored as its parameters (text), volumes and tables as its node references, so saving a
scene saves the module's state and loading it restores the state, including which outputs belong to
which input.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import ClassVar

import slicer
from medsynth.errors import ConfigError
from medsynth.inference import InferenceOptions

from .Choices import AXES, DEVICES, MODES, PRECISIONS

MODULE_NAME = "MedSynth"
NODE_FIELDS = ("inputVolume", "referenceVolume", "outputVolume", "differenceVolume", "metricsTable")


class ParameterNodeView:
    """A dataclass stored in a module's singleton ``vtkMRMLScriptedModuleNode``.

    The encoding is the one of Slicer's ``@parameterNodeWrapper`` (text as is, numbers as ``str``,
    booleans as ``True``/``False``, nodes as a node reference plus an empty parameter of the same name),
    so the module's GUI wrapper and this class read and write the same node.
    """

    moduleName: ClassVar[str] = ""
    nodeFields: ClassVar[tuple[str, ...]] = ()

    def write(self, parameterNode) -> None:
        """Store every field in ``parameterNode`` (one Modified event)."""
        wasModifying = parameterNode.StartModify()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in self.nodeFields:
                parameterNode.SetParameter(field.name, "")
                parameterNode.SetNodeReferenceID(field.name, value.GetID() if value is not None else None)
            elif isinstance(value, bool):
                parameterNode.SetParameter(field.name, "True" if value else "False")
            else:
                parameterNode.SetParameter(field.name, str(value))
        parameterNode.EndModify(wasModifying)

    @classmethod
    def read(cls, parameterNode):
        """The fields stored in ``parameterNode``; missing ones keep their defaults."""
        values, stored = {}, set(parameterNode.GetParameterNames() or ())
        types = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if field.name in cls.nodeFields:
                values[field.name] = parameterNode.GetNodeReference(field.name)
            elif field.name in stored:
                text = parameterNode.GetParameter(field.name)
                kind = types[field.name]
                try:
                    values[field.name] = text == "True" if kind is bool else kind(text)
                except ValueError:
                    raise ConfigError(f"parameter '{field.name}' of the {cls.moduleName} module must be "
                                      f"{kind.__name__}, got '{text}'") from None
        return cls(**values)

    @classmethod
    def parameterNode(cls, scene=None):
        """The scene's parameter node of the module, created on first use (as Slicer's modules do)."""
        return getParameterNode(scene, cls.moduleName)


@dataclass
class SynthesisParameters(ParameterNodeView):
    moduleName: ClassVar[str] = MODULE_NAME
    nodeFields: ClassVar[tuple[str, ...]] = NODE_FIELDS

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
        checks = {"mode": MODES, "axis": AXES, "device": DEVICES, "precision": PRECISIONS}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got '{getattr(self, name)}'")
        if self.patchStride not in ("", "full") and not self.patchStride.isdigit():
            raise ConfigError(f"patch stride must be empty (the model's), 'full' or voxels, got '{self.patchStride}'")

    def inferenceOptions(self) -> InferenceOptions:
        stride = int(self.patchStride) if self.patchStride.isdigit() else (self.patchStride or None)
        if stride == 0:
            raise ConfigError("patch stride must be at least 1 voxel (or 'full', or empty for the model's)")
        return InferenceOptions(axis=self.axis, device=self.device, precision=self.precision, stride=stride)

    def chooseModel(self, catalog):
        """The ``ModelChoice`` these settings select in ``catalog`` (a ``ModelCatalog``)."""
        return catalog.choose(self.mapping, self.architecture, self.mode, self.model)


def getParameterNode(scene=None, moduleName: str = MODULE_NAME):
    """The scene's parameter node of ``moduleName``, created on first use (as Slicer's scripted modules
    do: the singleton tag is the module name)."""
    scene = scene or slicer.mrmlScene
    node = scene.GetSingletonNode(moduleName, "vtkMRMLScriptedModuleNode")
    if node is None:
        node = slicer.vtkMRMLScriptedModuleNode()
        node.SetSingletonTag(moduleName)
        node.SetModuleName(moduleName)
        node.SetName(moduleName)
        node = scene.AddNode(node)
    return node
