"""A training run's folder, read without torch or any other pip package (the widget asks these at every
refresh, also before MedSynth's Python packages are installed); the file names are ``medsynth.run_folder``'s.

The run folder is the whole truth: ``history.csv`` gives the curves, ``state.safetensors`` (written
atomically after each epoch) lets a stopped run resume exactly, and ``model.safetensors`` (at the end) or
``best.safetensors`` (the best epoch so far) is the model to add to MedSynth's catalog.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from medsynth.run_folder import BEST_FILE, HISTORY_FILE, MODEL_FILE, STATE_FILE, holds_state

__all__ = ["BEST_FILE", "HISTORY_FILE", "MODEL_FILE", "STATE_FILE", "canResume", "hasTrainedModel", "readHistory",
           "trainedModel"]


def readHistory(runFolder: str | Path) -> list[dict[str, Any]]:
    """The rows of the run's ``history.csv`` (values as floats; empty cells left out)."""
    path = Path(runFolder) / HISTORY_FILE
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


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
