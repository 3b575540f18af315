"""The torch-free core: the modules the Slicer side reads at start-up import only the standard library, so the
modules open before MedSynth's packages are installed (the boundary, checked by reading the imports)."""

from __future__ import annotations

import sys

import pytest
from source_imports import loaded_by, source_file

CORE = ("medsynth", "medsynth.errors", "medsynth.planes", "medsynth.file_names", "medsynth.contrasts",
        "medsynth.limits", "medsynth.architectures", "medsynth.citations", "medsynth.inference",
        "medsynth.inference.options", "medsynth.inference.synthesis",
        "medsynth.progress_lines")


@pytest.mark.parametrize("name", CORE)
def test_a_core_module_imports_only_the_standard_library(name):
    loaded = loaded_by(source_file(name))
    external = {module.split(".")[0] for module, path in loaded.items() if path is None}
    assert external - set(sys.stdlib_module_names) == set()
    assert not {module for module, path in loaded.items() if path is not None and module not in CORE
                and not module.startswith("medsynth.architectures.")}, "the core imports only the core"
