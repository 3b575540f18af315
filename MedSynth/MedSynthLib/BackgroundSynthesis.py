"""Synthesis in a child process, so Slicer's GUI never freezes and Cancel can stop it at once.

The input node is written to a temporary NIfTI file, ``medsynth --progress-lines synthesize`` runs on it
in its own process group, a reader thread collects its progress lines, and the GUI polls (a QTimer in
the module; ``run()`` for scripts). Cancel kills the whole process tree; the scene is touched only when
the child has succeeded, so a failure or a cancel leaves it exactly as it was.
"""

from __future__ import annotations

import enum
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import slicer
from medsynth.catalog import resolve_model
from medsynth.checkpoint import read_card
from medsynth.cli.common import PROGRESS_PREFIX
from medsynth.errors import Cancelled, MedSynthError
from medsynth.inference import InferenceOptions
from medsynth.io import read_volume, write_volume
from medsynth.progress import ProgressCallback

from .SynthesisLogic import storeResult
from .VolumeConversion import volumeFromNode


class State(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


def pythonExecutable() -> str:
    """Slicer's own Python launcher inside Slicer (it sets up the environment), else this interpreter."""
    if getattr(slicer, "app", None) is not None:
        return shutil.which("PythonSlicer") or sys.executable
    return sys.executable


def cliOptions(options: InferenceOptions) -> list[str]:
    args = ["--axis", options.axis, "--batch-size", str(options.batch_size), "--device", options.device,
            "--precision", options.precision]
    for flag, value in (("--patch-size", options.patch_size), ("--stride", options.stride), ("--blend", options.blend)):
        if value is not None:
            args += [flag, str(value)]
    return args + ([] if options.skip_background else ["--no-skip-background"])


class BackgroundSynthesis:
    """One synthesis of ``inputNode`` with ``model`` (catalog name or file) in a child process."""

    def __init__(self, inputNode, model: str, options: InferenceOptions | None = None) -> None:
        self.card = read_card(resolve_model(model))  # a wrong model fails here, before any process starts
        self.inputNode, self.model, self.options = inputNode, str(model), options or InferenceOptions()
        self.state, self.progress, self.error = State.IDLE, (0, 1, ""), ""
        self.process: subprocess.Popen | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._messages: list[str] = []

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="medsynth-"))
        source, self.outputPath = self.workdir / "input.nii.gz", self.workdir / "output.nii.gz"
        write_volume(volumeFromNode(self.inputNode), source)
        command = [pythonExecutable(), "-m", "medsynth.cli.main", "--progress-lines", "synthesize", str(source),
                   str(self.outputPath), "--model", self.model, *cliOptions(self.options)]
        windows = sys.platform == "win32"
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=not windows,
            creationflags=subprocess.CREATE_NEW_PROCESS_GROUP if windows else 0,
        )
        threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True).start()
        self.state = State.RUNNING

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))

    def poll(self) -> State:
        """Take in the child's new output; returns the state (RUNNING until the child has ended)."""
        while not self._lines.empty():
            line = self._lines.get()
            if line.startswith(PROGRESS_PREFIX + " "):
                done, total, message = [*line.split(" ", 3), ""][1:4]
                self.progress = (int(done), int(total), message)
            else:
                self._messages.append(line)
        if self.state is State.RUNNING and self.process.poll() is not None:
            self.process.stderr.close()
            code = self.process.returncode
            self.state = State.SUCCEEDED if code == 0 and self.outputPath.is_file() else State.FAILED
            if self.state is State.FAILED:
                errors = [m.split("error: ", 1)[1] for m in self._messages if "medsynth: error: " in m]
                tail = " ".join(self._messages[-3:])
                self.error = errors[-1] if errors else f"medsynth ended with code {code}: {tail}"
        return self.state

    def cancel(self) -> None:
        """Kill the child and everything it started; nothing is added to the scene."""
        if self.process is not None and self.process.poll() is None:
            if sys.platform == "win32":
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.process.pid)], capture_output=True)
            else:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.state = State.CANCELLED
        self.cleanup()

    def finish(self, outputNode=None):
        """After success: the synthetic volume in ``outputNode`` (created if ``None``), next to the input."""
        if self.state is not State.SUCCEEDED:
            raise MedSynthError(f"no result to take: the synthesis {self.state.value}")
        try:
            result = read_volume(self.outputPath)
        finally:
            self.cleanup()
        return storeResult(self.inputNode, result, self.card.target_contrast, outputNode)

    def cleanup(self) -> None:
        if getattr(self, "workdir", None) is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, progress: ProgressCallback | None = None, cancel=None, interval: float = 0.05, outputNode=None):
        """Blocking: start, report progress, and return the output node (raises on failure or cancel)."""
        self.start()
        while self.poll() is State.RUNNING:
            if cancel is not None and cancel.cancelled:
                self.cancel()
                raise Cancelled("synthesis cancelled; the scene is unchanged")
            if progress is not None:
                progress(*self.progress)
            time.sleep(interval)
        if self.state is State.FAILED:
            self.cleanup()
            raise MedSynthError(self.error)
        return self.finish(outputNode)
