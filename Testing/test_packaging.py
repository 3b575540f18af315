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
    scripts = {str(p.relative_to(folder)) for p in folder.rglob("*.py")  # Resources/Scripts: shipped as resources
               if "__pycache__" not in p.parts and p.relative_to(folder).parts[0] != "Resources"}
    resources = {str(p.relative_to(folder)) for p in (folder / "Resources").rglob("*") if p.is_file()} \
        if (folder / "Resources").exists() else set()
    assert listed(cmake, "MODULE_PYTHON_SCRIPTS") == scripts
    assert listed(cmake, "MODULE_PYTHON_RESOURCES") == resources
    top = (ROOT / "CMakeLists.txt").read_text()
    assert f"add_subdirectory({module})" in top
    text = cmake.read_text()
    assert f"{module}.py" in scripts and "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text
    assert f"set(MODULE_NAME {module})" in text and "slicerMacroBuildScriptedModule(" in text


# the properties of the ExtensionsIndex's catalog-entry schema (v1.0.2), which allows no others
CATALOG_ENTRY_KEYS = {"$schema", "category", "scm_url", "scm_revision", "scm_type", "build_dependencies",
                      "dicom_support_rule", "build_subdirectory", "enabled", "tier"}


def test_extension_metadata():
    top = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r'set\(EXTENSION_DEPENDS "PyTorch"\)', top)
    text = (ROOT / "MedSynth.json").read_text()
    entry = json.loads(text)
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    assert entry["build_dependencies"] == ["PyTorch"] and entry["scm_url"] and set(entry) <= CATALOG_ENTRY_KEYS
    # the category the ExtensionsIndex's two other synthesis extensions use, in the catalog entry and in CMake
    assert entry["category"] == "Image Synthesis" and 'set(EXTENSION_CATEGORY "Image Synthesis")' in top
    # as the index's pre-commit hook (prettier, one array item per line) writes it
    assert text == json.dumps(entry, indent=2, ensure_ascii=False) + "\n"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]


def test_help_links_point_to_pages_that_exist():
    homepage = re.search(r'set\(EXTENSION_HOMEPAGE "([^"]+)"\)', (ROOT / "CMakeLists.txt").read_text()).group(1)
    for module in ("MedSynth", "MedSynthTrain"):
        source = (ROOT / module / f"{module}.py").read_text()
        assert "getDefaultModuleDocumentationLink" not in source  # Slicer's own wiki page for the module: none exists
        url = re.search(r'DOCUMENTATION_URL = "([^"]+)"', source).group(1)
        assert url.startswith(homepage.split("#")[0])
        page = url.split("/blob/main/")[1] if "/blob/main/" in url else "README.md"
        assert (ROOT / page).is_file(), url


def test_package_never_imports_slicer_qt_or_vtk():
    pattern = re.compile(r"^\s*(import|from)\s+(slicer|qt|ctk|vtk)\b", re.M)
    offenders = [str(p) for p in (ROOT / "MedSynth/medsynth").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
