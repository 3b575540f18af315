"""A training run's folder, read without torch or any other pip package (the widget asks these at every
refresh, also before MedSynth's Python packages are installed); the file names are ``medsynth.core.run_folder``'s.

The run folder is the whole truth: ``history.csv`` gives the curves, ``state.safetensors`` (written
atomically after each epoch) lets a stopped run resume exactly, and ``model.safetensors`` (at the end) or
``best.safetensors`` (the best epoch so far) is the model to add to MedSynth's catalog.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from medsynth.core.run_folder import BEST_FILE, HISTORY_FILE, MODEL_FILE, STATE_FILE, holds_state

__all__ = ["BEST_FILE", "HISTORY_FILE", "MODEL_FILE", "STATE_FILE", "canResume", "hasTrainedModel", "readHistory",
           "trainedModel"]


def readHistory(runFolder: str | Path) -> list[dict[str, Any]]:
    """The rows of the run's ``history.csv`` (values as floats; empty cells left out). A line that is not a
    row of numbers (a damaged or edited file, binary bytes) is skipped with one warning naming it, so the curves
    of the good epochs still show."""
    path = Path(runFolder) / HISTORY_FILE
    if not path.is_file():
        return []
    rows, skipped = [], []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(line.replace("\0", "") for line in f)  # csv refuses NUL bytes outright
        for row in reader:
            try:
                rows.append({k: float(v) for k, v in row.items()
                             if k is not None and isinstance(v, str) and v.strip()})
            except ValueError:
                skipped.append(reader.line_num)
    if skipped:
        logging.warning("MedSynth Train: %s: skipped line(s) %s, which do not hold numbers", path,
                        ", ".join(map(str, skipped)))
    return rows


def canResume(runFolder: str | Path) -> bool:
    return bool(str(runFolder)) and holds_state(runFolder)


def hasTrainedModel(runFolder: str | Path) -> bool:
    return bool(str(runFolder)) and any((Path(runFolder) / name).is_file() for name in (MODEL_FILE, BEST_FILE))


def trainedModel(runFolder: str | Path) -> Path | None:
    """The run's final model, else its best epoch so far (a stopped run), else None."""
    for name in (MODEL_FILE, BEST_FILE):
        if (Path(runFolder) / name).is_file():
            return Path(runFolder) / name
    return None
