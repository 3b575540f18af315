"""The torch-free core (``medsynth.core``): every import in it, at module level or inside a function, is of the
standard library, NumPy or the core itself, so Slicer's process can read cards, the catalog and options without
torch or the imaging libraries (the boundary, checked by reading the source)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from source_imports import ROOT, loaded_by

CORE = ROOT / "MedSynth" / "medsynth" / "core"
ALLOWED = set(sys.stdlib_module_names) | {"numpy"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT / "MedSynth").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def every_import(path: Path) -> set[str]:
    """All modules ``path`` imports anywhere in it, as absolute names (``from .. import __version__``: medsynth)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            parts = package.split(".")
            base = ".".join([*parts[: len(parts) - node.level + 1], node.module or ""]) if node.level else node.module
            found.add(base.strip("."))
    return found


FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_the_core_imports_only_the_standard_library_numpy_and_itself(path):
    outside = {name for name in every_import(path)
               if name.split(".")[0] not in ALLOWED and not name.startswith("medsynth.core") and name != "medsynth"}
    assert outside == set(), f"{module_name(path)} imports {sorted(outside)} from outside the core"


def test_the_core_holds_what_the_slicer_side_reads():
    names = {module_name(p) for p in FILES}
    for needed in ("errors", "contrasts", "options", "card", "model_file", "catalog", "user_models",
                   "architectures", "citations", "run_folder", "progress", "files"):
        assert f"medsynth.core.{needed}" in names


def test_the_package_root_and_the_inference_front_stay_light():
    """``import medsynth.inference`` (InferenceOptions, Synthesis) loads only the core until an engine runs."""
    for name in ("medsynth", "medsynth.inference"):
        path = ROOT / "MedSynth" / Path(*name.split(".")) / "__init__.py"
        loaded = loaded_by(path)
        assert {m.split(".")[0] for m, p in loaded.items() if p is None} <= ALLOWED
        assert all(m.startswith("medsynth.core") or m == "medsynth" for m, p in loaded.items() if p is not None)


def model_file(path: Path, tensors: dict, data: bytes) -> Path:
    """A safetensors file with a valid card from the catalog and the given tensor table and data."""
    import json
    import struct

    from medsynth.core.catalog import load_catalog

    card = next(e.card for e in load_catalog() if e.name == "phantom-nie-PD-T2").to_json()
    header = json.dumps({"__metadata__": {"medsynth.card": card}, **tensors}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


@pytest.mark.parametrize(("tensors", "data", "said"), [
    ({"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}, b"\0" * 6, "holds 6 bytes of weights where "
     "its header declares 8 (truncated or corrupt)"),
    ({"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 6]}}, b"\0" * 6, "tensor 'w' F16 [2, 2] does not "
     "fill its 6 bytes"),
    ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "tensor 'w' lacks a valid dtype"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, b"\0" * 12, "overlap or leave gaps"),
])
def test_a_model_files_weight_table_is_checked_without_torch(tmp_path, tensors, data, said):
    """Slicer adds a model file through this check alone (torch stays in the child, which checks the weights
    against the card's network when it loads them): a truncated or inconsistent file is refused by name."""
    from medsynth.core.errors import ModelError
    from medsynth.core.model_file import read_card

    with pytest.raises(ModelError, match=re.escape(said)):
        read_card(model_file(tmp_path / "m.safetensors", tensors, data))
    good = {"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}
    assert read_card(model_file(tmp_path / "ok.safetensors", good, b"\0" * 8)).name == "phantom-nie-PD-T2"


# What Slicer's process may load from the package besides the core: reading and writing volumes, the head mask,
# and the one evaluation the module shares with `medsynth evaluate` (with the flagging and trust summaries shown
# next to it), all without torch; everything that runs a network stays in the child process.
EVALUATION = {"medsynth.volume", "medsynth.io", "medsynth.file_checks", "medsynth.mask", "medsynth.metrics",
              "medsynth.resample", "medsynth.pipeline", "medsynth.core.progress", "medsynth.skull_strip",
              "medsynth.trust", "medsynth.asymmetry", "medsynth.flagging", "medsynth.inference"}
SLICER_SIDE = sorted([*(ROOT / "MedSynth" / "MedSynthLib").glob("*.py"),
                      *(ROOT / "MedSynthTrain" / "MedSynthTrainLib").glob("*.py"),
                      ROOT / "MedSynth" / "MedSynth.py", ROOT / "MedSynthTrain" / "MedSynthTrain.py"])


@pytest.mark.parametrize("path", SLICER_SIDE, ids=lambda p: p.name)
def test_the_slicer_side_loads_only_the_core_and_the_light_evaluation(path):
    loaded = loaded_by(path)
    ours = {m for m, p in loaded.items() if p is not None and m.startswith("medsynth")}
    assert {m for m in ours if not m.startswith("medsynth.core") and m != "medsynth"} <= EVALUATION
    assert not {m.split(".")[0] for m, p in loaded.items() if p is None} & {"torch", "monai", "deepbet"}
    if path.stem in ("MedSynth", "MedSynthTrain", "RunLogic", "TrainingLogic", "Parameters", "Choices"):
        assert all(m.startswith("medsynth.core") or m == "medsynth" for m in ours), "a module opens on the core alone"
