#!/usr/bin/env python
"""Rewrite MODULE_PYTHON_SCRIPTS and MODULE_PYTHON_RESOURCES in each module's CMakeLists.txt from the files
on disk, so the installed extension is complete (Testing/test_packaging.py checks the lists).

    python scripts/update_cmake_lists.py
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def files(folder: Path) -> tuple[list[str], list[str]]:
    scripts = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.py")
                     if "__pycache__" not in p.parts and p.relative_to(folder).parts[0] != "Resources")
    resources = sorted(str(p.relative_to(folder)) for p in (folder / "Resources").rglob("*") if p.is_file()) \
        if (folder / "Resources").is_dir() else []
    return scripts, resources


def rewrite(text: str, variable: str, items: list[str]) -> str:
    body = "".join(f"  {item}\n" for item in items)
    block = rf"set\({variable}\n(?:  (?!\))[^\n]*\n)*  \)"  # the lines up to the closing "  )"
    return re.sub(block, lambda _: f"set({variable}\n{body}  )", text, count=1)


def main() -> None:
    for module in ("MedSynth", "MedSynthTrain"):
        cmake = ROOT / module / "CMakeLists.txt"
        scripts, resources = files(ROOT / module)
        text = rewrite(cmake.read_text(), "MODULE_PYTHON_SCRIPTS", scripts)
        text = rewrite(text, "MODULE_PYTHON_RESOURCES", resources)
        cmake.write_text(text)


if __name__ == "__main__":
    main()
