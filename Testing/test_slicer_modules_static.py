"""What can be checked of the Slicer GUI without Slicer: the module files compile, follow the scripted-module
template, load without torch, use only widgets their .ui defines, bind only parameter-node fields, and keep
their typed parameter nodes identical to the Qt-free views the logic and the tests use."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = {  # module -> (file of its Qt-free parameter view, class of that view)
    "MedSynth": ("MedSynth/MedSynthLib/Parameters.py", "SynthesisParameters"),
    "MedSynthTrain": ("MedSynthTrain/MedSynthTrainLib/TrainingParameters.py", "TrainingParameters"),
}
NODE_WIDGETS = {"qMRMLNodeComboBox"}
WIDGET_TYPES = {"QComboBox": "str", "QLineEdit": "str", "QSpinBox": "int", "QDoubleSpinBox": "float",
                "QCheckBox": "bool"}


def module_tree(module: str) -> ast.Module:
    return ast.parse((ROOT / module / f"{module}.py").read_text())


def ui_widgets(module: str) -> dict[str, tuple[str, str | None]]:
    """Widget name -> (class, SlicerParameterName or None)."""
    tree = ET.parse(ROOT / module / "Resources" / "UI" / f"{module}.ui")
    widgets = {}
    for widget in tree.iter("widget"):
        parameter = next((p.findtext("string") for p in widget.findall("property")
                          if p.get("name") == "SlicerParameterName"), None)
        widgets[widget.get("name")] = (widget.get("class"), parameter)
    return widgets


def class_fields(tree: ast.Module, name: str) -> dict[str, ast.AnnAssign]:
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return {n.target.id: n for n in cls.body if isinstance(n, ast.AnnAssign)
            and "ClassVar" not in ast.unparse(n.annotation)}


def wrapper_class(tree: ast.Module) -> ast.ClassDef:
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef)
              and any(ast.unparse(d) == "parameterNodeWrapper" for d in n.decorator_list)]
    return cls


def test_every_python_file_compiles():
    files = [p for folder in ("MedSynth", "MedSynthTrain", "scripts") for p in (ROOT / folder).rglob("*.py")]
    assert len(files) > 50
    for path in files:
        compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("module", MODULES)
def test_module_follows_the_template_and_loads_without_torch(module):
    tree = module_tree(module)
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert classes == [module, f"{module}ParameterNode", f"{module}Widget", f"{module}Logic", f"{module}Test"]
    imported = {alias.name for n in tree.body if isinstance(n, ast.Import) for alias in n.names}
    imported |= {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    ours = {name for name in imported if name.lower().startswith("medsynth")}
    # Slicer imports the module at start-up, before torch and the other dependencies may be installed
    assert ours <= {"MedSynthLib.Choices", "MedSynthLib.ParameterNodeWidget"}
    assert not imported & {"torch", "numpy", "nibabel", "monai"}
    for name in ours:  # and what those import
        lib = ast.parse((ROOT / "MedSynth" / f"{name.replace('.', '/')}.py").read_text())
        assert {ast.unparse(n) for n in lib.body if isinstance(n, ast.Import | ast.ImportFrom)} <= {
            "from __future__ import annotations", "import slicer", "import vtk"}
    source = (ROOT / module / f"{module}.py").read_text()
    assert "self.setupModuleUi(" in source  # loads Resources/UI/<module>.ui (MedSynthLib.ParameterNodeWidget)
    assert (ROOT / module / "Resources/UI" / f"{module}.ui").is_file()
    assert (ROOT / module / "Resources/Icons" / f"{module}.png").is_file()  # the module icon Slicer looks for


@pytest.mark.parametrize("module", MODULES)
def test_every_ui_widget_used_exists(module):
    widgets = ui_widgets(module)
    used = {n.attr for n in ast.walk(module_tree(module)) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Attribute) and n.value.attr == "ui"
            and isinstance(n.value.value, ast.Name) and n.value.value.id == "self"}
    assert len(used) > 8
    assert used - set(widgets) == set()


@pytest.mark.parametrize("module", MODULES)
def test_parameter_names_are_fields_of_the_right_type(module):
    fields = {name: ast.unparse(node.annotation) for name, node in
              class_fields(module_tree(module), wrapper_class(module_tree(module)).name).items()}
    bound = {name: (cls, parameter) for name, (cls, parameter) in ui_widgets(module).items() if parameter}
    assert len(bound) >= 5
    for name, (cls, parameter) in bound.items():
        assert parameter in fields, f"{name}: SlicerParameterName '{parameter}' is not a parameter node field"
        annotation = fields[parameter]
        if cls in NODE_WIDGETS:
            assert annotation.startswith("vtkMRML"), f"{name} shows nodes but '{parameter}' is {annotation}"
        else:
            assert WIDGET_TYPES[cls] in annotation, f"{name} ({cls}) cannot show '{parameter}': {annotation}"
        if cls == "QComboBox":
            assert "Choice(" in annotation, f"{name}: a combo box needs a Choice annotation on '{parameter}'"


@pytest.mark.parametrize("module", MODULES)
def test_gui_parameter_node_mirrors_the_qt_free_view(module):
    path, view = MODULES[module]
    wrapper = class_fields(module_tree(module), wrapper_class(module_tree(module)).name)
    fields = class_fields(ast.parse((ROOT / path).read_text()), view)
    assert list(wrapper) == list(fields)
    for name, node in fields.items():
        default = ast.literal_eval(node.value) if node.value is not None else None
        if wrapper[name].value is not None:  # nodes have no default in the wrapper (None)
            assert ast.literal_eval(wrapper[name].value) == default, name
        else:
            assert default is None, name
