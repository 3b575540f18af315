"""What can be checked of the Slicer GUI without Slicer: the module files compile (with Python 3.9's grammar too,
so an old Slicer gets the version message rather than a SyntaxError), follow the scripted-module template,
import nothing but Slicer's own packages when Slicer starts, use only widgets their .ui defines, and bind
only fields of their one parameter definition, with the .ui's ranges equal to the definition's."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from source_imports import loaded_by

ROOT = Path(__file__).resolve().parents[1]
MODULES = {  # module -> (file of its one parameter definition, the dataclass)
    "MedSynth": ("MedSynth/MedSynthLib/Parameters.py", "SynthesisParameters"),
    "MedSynthTrain": ("MedSynthTrain/MedSynthTrainLib/TrainingParameters.py", "TrainingParameters"),
}
SLICER_PACKAGES = {"slicer", "vtk", "qt", "ctk", "packaging", "SampleData", "PyTorchUtils"}  # no pip needed
NODE_WIDGETS = {"qMRMLNodeComboBox"}
WIDGET_TYPES = {"QComboBox": "str", "QLineEdit": "str", "QSpinBox": "int", "QDoubleSpinBox": "float",
                "QCheckBox": "bool"}


def module_tree(module: str) -> ast.Module:
    return ast.parse((ROOT / module / f"{module}.py").read_text())


def ui_widgets(module: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Widget name -> (class, {property: text})."""
    tree = ET.parse(ROOT / module / "Resources" / "UI" / f"{module}.ui")
    return {w.get("name"): (w.get("class"), {p.get("name"): (p[0].text or "") for p in w.findall("property")})
            for w in tree.iter("widget")}


def dataclass_fields(module: str) -> dict[str, str]:
    """Field -> annotation text of the module's one parameter definition."""
    path, name = MODULES[module]
    cls = next(n for n in ast.parse((ROOT / path).read_text()).body if isinstance(n, ast.ClassDef) and n.name == name)
    return {n.target.id: ast.unparse(n.annotation) for n in cls.body if isinstance(n, ast.AnnAssign)
            and "ClassVar" not in ast.unparse(n.annotation)}


def test_every_python_file_compiles():
    files = [p for folder in ("MedSynth", "MedSynthTrain", "scripts") for p in (ROOT / folder).rglob("*.py")]
    assert len(files) > 50
    for path in files:
        compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("module", MODULES)
def test_module_follows_the_template_with_one_parameter_definition(module):
    tree = module_tree(module)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert [c.name for c in classes] == [module, f"{module}ParameterNode", f"{module}Widget", f"{module}Logic",
                                        f"{module}Test"]
    wrapper = classes[1]
    assert [ast.unparse(d) for d in wrapper.decorator_list] == ["parameterNodeWrapper"]
    assert [ast.unparse(b) for b in wrapper.bases] == [f"parameterNodeFields({MODULES[module][1]})"]
    assert not [n for n in wrapper.body if isinstance(n, ast.AnnAssign)]  # no second list of fields
    source = (ROOT / module / f"{module}.py").read_text()
    assert "self.setupModuleUi(" in source and "self.supportedSlicer()" in source
    assert (ROOT / module / "Resources/UI" / f"{module}.ui").is_file()
    assert (ROOT / module / "Resources/Icons" / f"{module}.png").is_file()  # the module icon Slicer looks for


@pytest.mark.parametrize("module", MODULES)
def test_what_slicer_loads_at_startup_needs_no_pip_package(module):
    """Slicer imports the module file when it starts, before torch and MedSynth's other packages may be
    installed: everything that pulls in, transitively, is the standard library, Slicer's own packages, or
    our modules that import nothing else (medsynth.cli, with tqdm and torch, is never among them)."""
    loaded = loaded_by(ROOT / module / f"{module}.py")
    ours = {name for name, path in loaded.items() if path is not None}
    external = {name.split(".")[0] for name, path in loaded.items() if path is None}
    assert external - set(sys.stdlib_module_names) - SLICER_PACKAGES - {"MedSynth"} == set()
    assert {"MedSynthLib.Parameters", "MedSynthLib.ModuleParameters"} <= ours
    assert not {name for name in ours if name.startswith(("medsynth.cli", "medsynth.checkpoint", "medsynth.io"))}


def test_the_slicer_side_never_imports_the_cli():
    """MedSynthLib and MedSynthTrainLib talk to the child through medsynth.core.progress, not medsynth.cli."""
    def imported(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names} | {
            n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    files = [p for folder in ("MedSynth/MedSynthLib", "MedSynthTrain/MedSynthTrainLib", "MedSynth/Resources")
             for p in (ROOT / folder).rglob("*.py")]
    files += [ROOT / "MedSynth/MedSynth.py", ROOT / "MedSynthTrain/MedSynthTrain.py"]
    offenders = {str(p): sorted(n for n in imported(p) if n.startswith("medsynth.cli")) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("module", MODULES)
def test_startup_files_parse_with_python_3_9(module):
    """Slicer 5.6 and 5.8 (Python 3.9) must reach the widget's version message, not a SyntaxError."""
    module_file = ROOT / module / f"{module}.py"
    files = [module_file, *(p for p in loaded_by(module_file).values() if p)]
    for path in files:
        ast.parse(path.read_text(), feature_version=(3, 9))
    pyenv = Path.home().glob(".pyenv/versions/3.9*/bin/python3.9")
    python39 = next(iter(pyenv), None) or shutil.which("python3.9")
    if python39 is None:
        pytest.skip("no Python 3.9 interpreter here to compile them with")
    script = "import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, 'exec')"
    check = subprocess.run([str(python39), "-c", script, *map(str, files)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("module", MODULES)
def test_every_ui_widget_used_exists(module):
    widgets = ui_widgets(module)
    used = {n.attr for n in ast.walk(module_tree(module)) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Attribute) and n.value.attr == "ui"
            and isinstance(n.value.value, ast.Name) and n.value.value.id == "self"}
    assert len(used) > 8
    assert used - set(widgets) == set()


@pytest.mark.parametrize("module", MODULES)
def test_parameter_names_are_fields_of_the_right_type_and_range(module):
    from_definition = dataclass_fields(module)
    bound = {name: (cls, props) for name, (cls, props) in ui_widgets(module).items() if "SlicerParameterName" in props}
    assert len(bound) >= 5
    for name, (cls, props) in bound.items():
        parameter = props["SlicerParameterName"]
        assert parameter in from_definition, f"{name}: SlicerParameterName '{parameter}' is not a parameter"
        annotation = from_definition[parameter]
        if cls in NODE_WIDGETS:
            assert annotation.startswith("vtkMRML"), f"{name} shows nodes but '{parameter}' is {annotation}"
            continue
        assert WIDGET_TYPES[cls] in annotation, f"{name} ({cls}) cannot show '{parameter}': {annotation}"
        if cls == "QComboBox":
            assert "OneOf(" in annotation, f"{name}: a combo box needs a OneOf constraint on '{parameter}'"
        if cls in ("QSpinBox", "QDoubleSpinBox"):  # Qt's default range (0-99) would clip the values
            assert "Within(" in annotation, f"{name}: a spin box needs a Within range on '{parameter}'"
            assert props.keys() >= {"minimum", "maximum"}, f"{name}: the .ui must set the spin box's range"


def test_learning_rate_steps_sensibly():
    _, props = ui_widgets("MedSynthTrain")["learningRateSpinBox"]
    assert float(props["singleStep"]) == 1e-5 and int(props["decimals"]) >= 6
    assert float(props["minimum"]) > 0 and float(props["maximum"]) <= 1.0
