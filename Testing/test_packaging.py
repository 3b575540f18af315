"""The Slicer extension installs every file it needs: each module's CMakeLists lists all of them."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def listed(cmake: Path, variable: str) -> set[str]:
    block = re.search(rf"set\({variable}\s*(.*?)\)", cmake.read_text(), re.S)
    assert block, f"{variable} not found in {cmake}"
    return {line.strip() for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")}


@pytest.mark.parametrize("module", ["MedSynth", "MedSynthTrain"])
def test_every_script_and_resource_is_listed(module):
    folder = ROOT / module
    cmake = folder / "CMakeLists.txt"
    scripts = {str(p.relative_to(folder)) for p in folder.rglob("*.py") if "__pycache__" not in p.parts}
    resources = {str(p.relative_to(folder)) for p in (folder / "Resources").rglob("*") if p.is_file()} \
        if (folder / "Resources").exists() else set()
    assert listed(cmake, "MODULE_PYTHON_SCRIPTS") == scripts
    assert listed(cmake, "MODULE_PYTHON_RESOURCES") == resources
    top = (ROOT / "CMakeLists.txt").read_text()
    assert f"add_subdirectory({module})" in top
    text = cmake.read_text()
    assert f"{module}.py" in scripts and "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text
    assert f"set(MODULE_NAME {module})" in text and "slicerMacroBuildScriptedModule(" in text


def test_extension_metadata():
    top = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r'set\(EXTENSION_DEPENDS "PyTorch"\)', top)
    entry = json.loads((ROOT / "MedSynth.json").read_text())
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    assert entry["build_dependencies"] == ["PyTorch"] and entry["category"] in top and entry["scm_url"]


def test_package_never_imports_slicer_qt_or_vtk():
    pattern = re.compile(r"^\s*(import|from)\s+(slicer|qt|ctk|vtk)\b", re.M)
    offenders = [str(p) for p in (ROOT / "MedSynth/medsynth").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
