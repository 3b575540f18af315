"""One definition of a module's parameters: a dataclass, from which the GUI's ``@parameterNodeWrapper`` class
is derived.

A module declares its settings once, as a dataclass whose fields carry their constraints (``OneOf``,
``Within``) and whose node fields are typed with the MRML class they hold. From it come:

- ``read``/``write`` of the module's singleton ``vtkMRMLScriptedModuleNode`` for scripts, tests and the
  logic, in the encoding of Slicer's ``@parameterNodeWrapper`` (text as is, numbers with ``str``, booleans
  as ``True``/``False``, nodes as a node reference plus an empty parameter of the same name);
- ``parameterNodeFields(cls)``: the base class the module file decorates with ``@parameterNodeWrapper``,
  with the same fields, defaults and constraints (as the wrapper's ``Choice``, ``Minimum``, ``Maximum``).

Imports only slicer and the standard library: the module files build their wrapper when Slicer starts,
before MedSynth's Python packages may be installed.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import slicer
from medsynth.core.errors import ConfigError


@dataclass(frozen=True)
class OneOf:
    """The field's value is one of ``values`` (a combo box in the GUI)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Within:
    """The field's value lies in ``[minimum, maximum]`` (a spin box's range in the GUI)."""

    minimum: float
    maximum: float


def isNodeType(kind) -> bool:
    return isinstance(kind, type) and issubclass(kind, slicer.vtkMRMLNode)


def splitAnnotation(annotation) -> tuple[Any, tuple]:
    """``Annotated[kind, *constraints]`` -> ``(kind, constraints)``; a plain type has none."""
    if typing.get_origin(annotation) is typing.Annotated:
        kind, *constraints = typing.get_args(annotation)
        return kind, tuple(constraints)
    return annotation, ()


def encode(kind, value) -> str:
    """A value as the wrapper stores it in a parameter (nodes are stored as references instead)."""
    if kind is bool:
        return "True" if value else "False"
    return str(value)


def decode(kind, text: str):
    return text == "True" if kind is bool else kind(text)


class ModuleParameters:
    """Base of a module's parameter dataclass; ``moduleName`` names the singleton node it lives in."""

    moduleName: ClassVar[str] = ""

    @classmethod
    def fieldTypes(cls) -> dict[str, tuple[Any, tuple]]:
        """Field name -> (type, constraints), in declaration order."""
        hints = typing.get_type_hints(cls, include_extras=True)
        return {f.name: splitAnnotation(hints[f.name]) for f in dataclasses.fields(cls)}

    def __post_init__(self) -> None:
        for name, (kind, constraints) in self.fieldTypes().items():
            value = getattr(self, name)
            if isNodeType(kind):
                if value is not None and not value.IsA(kind.__name__):
                    raise ConfigError(f"{name} must be a {kind.__name__}, got {value.GetClassName()}")
                continue
            for constraint in constraints:
                if isinstance(constraint, OneOf) and value not in constraint.values:
                    raise ConfigError(f"{name} must be one of {', '.join(constraint.values)}, got '{value}'")
                if isinstance(constraint, Within) and not constraint.minimum <= value <= constraint.maximum:
                    raise ConfigError(f"{name} must be between {constraint.minimum:g} and {constraint.maximum:g}, "
                                      f"got {value}")

    def write(self, parameterNode) -> None:
        """Store every field in ``parameterNode`` (one Modified event)."""
        wasModifying = parameterNode.StartModify()
        for name, (kind, _) in self.fieldTypes().items():
            value = getattr(self, name)
            if isNodeType(kind):
                parameterNode.SetParameter(name, "")
                parameterNode.SetNodeReferenceID(name, value.GetID() if value is not None else None)
            else:
                parameterNode.SetParameter(name, encode(kind, value))
        parameterNode.EndModify(wasModifying)

    @classmethod
    def read(cls, parameterNode):
        """The fields stored in ``parameterNode``; missing ones keep their defaults."""
        values, stored = {}, set(parameterNode.GetParameterNames() or ())
        for name, (kind, _) in cls.fieldTypes().items():
            if isNodeType(kind):
                values[name] = parameterNode.GetNodeReference(name)
            elif name in stored:
                text = parameterNode.GetParameter(name)
                try:
                    values[name] = decode(kind, text)
                except ValueError:
                    raise ConfigError(f"parameter '{name}' of the {cls.moduleName} module must be "
                                      f"{kind.__name__}, got '{text}'") from None
        return cls(**values)

    @classmethod
    def parameterNode(cls, scene=None):
        """The scene's parameter node of the module, created on first use (as Slicer's modules do)."""
        return getParameterNode(scene, cls.moduleName)


def parameterNodeFields(parameters: type[ModuleParameters]) -> type:
    """A plain class with the fields of ``parameters`` as ``@parameterNodeWrapper`` reads them (annotations
    with the wrapper's validators, and defaults), for the module file to derive its wrapper class from:

        @parameterNodeWrapper
        class MedSynthParameterNode(parameterNodeFields(SynthesisParameters)): ...
    """
    from slicer.parameterNodeWrapper import Choice, Maximum, Minimum  # in Slicer's GUI only

    annotations, defaults = {}, {}
    for field in dataclasses.fields(parameters):
        kind, constraints = parameters.fieldTypes()[field.name]
        if isNodeType(kind):
            annotations[field.name] = kind  # the wrapper's default for a node is None
            continue
        validators = []
        for constraint in constraints:
            if isinstance(constraint, OneOf):
                validators.append(Choice(list(constraint.values)))
            elif isinstance(constraint, Within):
                validators += [Minimum(kind(constraint.minimum)), Maximum(kind(constraint.maximum))]
        annotations[field.name] = typing.Annotated[(kind, *validators)] if validators else kind
        defaults[field.name] = field.default
    # ``parameterDefinition`` (not annotated, so not a parameter) names the definition it came from
    return type(f"{parameters.__name__}Fields", (), {"__annotations__": annotations, **defaults,
                                                     "__module__": parameters.__module__,
                                                     "parameterDefinition": parameters})


def getParameterNode(scene=None, moduleName: str = "MedSynth"):
    """The scene's parameter node of ``moduleName``, created on first use (as Slicer's scripted modules do:
    the singleton tag is the module name)."""
    scene = scene or slicer.mrmlScene
    node = scene.GetSingletonNode(moduleName, "vtkMRMLScriptedModuleNode")
    if node is None:
        node = slicer.vtkMRMLScriptedModuleNode()
        node.SetSingletonTag(moduleName)
        node.SetModuleName(moduleName)
        node.SetName(moduleName)
        node = scene.AddNode(node)
    return node
