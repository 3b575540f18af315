"""What a training run's folder holds, by name, without torch: the trainer writes these files, and the Slicer
module reads them (before MedSynth's packages may even be installed)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

STATE_FILE, BEST_FILE, MODEL_FILE = "state.safetensors", "best.safetensors", "model.safetensors"
HISTORY_FILE, SPLIT_FILE = "history.csv", "split.json"
# an unpaired objective's second generator (target -> source), from the same epoch as the model
REVERSE_BEST_FILE, REVERSE_MODEL_FILE = "best-reverse.safetensors", "model-reverse.safetensors"
PREVIOUS_SUFFIX = ".previous"


def previous_state(path: Path) -> Path:
    """Where the state before ``path`` is kept (``state.safetensors`` -> ``state.previous.safetensors``)."""
    return path.with_name(path.stem + PREVIOUS_SUFFIX + path.suffix)


def holds_state(folder: str | Path) -> bool:
    """Whether the run in ``folder`` can be resumed: its state, or the one before it, is there."""
    state = Path(folder) / STATE_FILE
    return state.is_file() or previous_state(state).is_file()


def clear_run(folder: Path) -> None:
    """Remove a run's states, models, history and split (``--restart``); its config.yaml and data are kept."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no run folder to restart")
    state = folder / STATE_FILE
    for path in (state, previous_state(state), folder / BEST_FILE, folder / MODEL_FILE, folder / HISTORY_FILE,
                 folder / SPLIT_FILE, folder / REVERSE_BEST_FILE, folder / REVERSE_MODEL_FILE):
        path.unlink(missing_ok=True)
