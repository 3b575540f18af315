"""``medsynth train`` in a child process: live progress and curves, Stop, Resume, and the trained model.

The run folder is the whole truth (see ``RunFolder``). Stop kills the process tree; at most the epoch in
progress is lost. Closing Slicer ends the run the same way (the child cannot outlive Slicer's pipe), and
Resume continues it after a restart.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from medsynth.core.errors import Cancelled, ConfigError, MedSynthError
from MedSynthLib.BackgroundProcess import BackgroundProcess, State, medsynthCommand

from .RunFolder import BEST_FILE, HISTORY_FILE, MODEL_FILE, STATE_FILE, canResume, readHistory, trainedModel

EPOCH = re.compile(r"epoch (\d+)/(\d+)")


def registerModel(runFolder: str | Path, catalog=None):
    """Add the run's model to MedSynth's catalog (validated as any user model file); its ``ModelChoice``."""
    from MedSynthLib.ModelCatalog import ModelCatalog

    model = trainedModel(runFolder)
    if model is None:
        raise MedSynthError(f"{runFolder} holds no trained model yet (no {MODEL_FILE} or {BEST_FILE})")
    return (catalog or ModelCatalog()).addModelFile(model)


class BackgroundTraining:
    """A new run (``arguments`` from ``TrainingParameters.trainArguments()``) or the resumption of one."""

    def __init__(self, runFolder: str | Path, arguments: list[str] | None = None, epochs: int | None = None) -> None:
        """``arguments=None`` resumes ``runFolder`` (optionally extended to ``epochs``)."""
        self.runFolder = Path(runFolder)
        if arguments is None:
            if not canResume(self.runFolder):
                raise ConfigError(f"{self.runFolder} cannot be resumed: it holds no {STATE_FILE}")
            arguments = ["--resume", str(self.runFolder)] + (["--epochs", str(epochs)] if epochs else [])
        self.job = BackgroundProcess(medsynthCommand("train", *arguments))
        self._history: tuple[float, list[dict[str, Any]]] = (-1.0, [])  # (history.csv's mtime, its rows)

    @property
    def state(self) -> State:
        return self.job.state

    @property
    def error(self) -> str:
        return self.job.error

    @property
    def messages(self) -> list[str]:
        """What the run printed besides progress: one line per epoch with its losses and metrics."""
        return self.job.messages

    def start(self) -> None:
        self.job.start()

    def poll(self) -> State:
        return self.job.poll()

    def stop(self) -> None:
        """Kill the run; its folder keeps every completed epoch, so it can be resumed."""
        self.job.cancel()

    def fraction(self) -> float:
        """Overall progress in [0, 1], from the child's ``epoch E/N`` step lines."""
        done, total, message = self.job.progress
        match = EPOCH.search(message)
        if match is None:
            return 0.0
        epoch, epochs = int(match.group(1)), int(match.group(2))
        return min(1.0, (epoch - 1 + done / max(total, 1)) / epochs)

    def history(self) -> list[dict[str, Any]]:
        """The run's rows so far; the file is read again only when the trainer has rewritten it (each
        epoch), not at every poll."""
        path = self.runFolder / HISTORY_FILE
        stamp = path.stat().st_mtime_ns if path.is_file() else -1.0
        if stamp != self._history[0]:
            self._history = (stamp, readHistory(self.runFolder))
        return self._history[1]

    def run(self, onEpoch=None, cancel=None, interval: float = 0.1) -> Path:
        """Blocking: train to the end and return the model file (raises on failure or cancel).

        ``onEpoch(history)`` is called whenever a new epoch has been logged.
        """
        self.start()
        seen = 0
        while self.poll() is State.RUNNING:
            if cancel is not None and cancel.cancelled:
                self.stop()
                raise Cancelled(f"training stopped; resume it from {self.runFolder}")
            rows = self.history()
            if onEpoch is not None and len(rows) > seen:
                seen = len(rows)
                onEpoch(rows)
            time.sleep(interval)
        if self.state is State.FAILED:
            raise MedSynthError(self.error)
        if onEpoch is not None:
            onEpoch(self.history())
        model = trainedModel(self.runFolder)
        if model is None:
            raise MedSynthError(f"the run ended without writing {self.runFolder / MODEL_FILE}")
        return model
