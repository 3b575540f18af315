"""Which modules a source file imports when it is loaded (module-level imports, followed through our own
modules): what Slicer loads at start-up, and which tests need torch."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "MedSynth", ROOT / "MedSynthTrain")  # where Slicer finds MedSynthLib, MedSynthTrainLib, medsynth


@functools.cache
def source_file(name: str) -> Path | None:
    """The file of our module ``name`` (``MedSynthLib.Parameters``, ``medsynth.core.errors``), or None."""
    for folder in SOURCES:
        base = folder.joinpath(*name.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def direct_imports(path: Path) -> list[str]:
    """The modules ``path`` imports at module level (``from X import Y`` gives X, and X.Y when that is ours)."""
    package = next((".".join(path.relative_to(folder).with_suffix("").parts[:-1]) for folder in SOURCES
                    if folder in path.parents), "")
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], base]).strip(".")
            names += [base, *(f"{base}.{alias.name}" for alias in node.names if source_file(f"{base}.{alias.name}"))]
    return names


def loaded_by(path: Path) -> dict[str, Path | None]:
    """Every module loading ``path`` loads: name -> our file, or None for another package's module."""
    seen: dict[str, Path | None] = {}
    pending = [path]
    while pending:
        for name in direct_imports(pending.pop()):
            if name not in seen:
                seen[name] = source_file(name)
                if seen[name] is not None:
                    pending.append(seen[name])
    return seen
