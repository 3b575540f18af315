"""Synthesis in a child process, so Slicer's GUI never freezes and Cancel can stop it at once.

The input node is written to a temporary NIfTI file and ``medsynth synthesize`` runs on it in a
``BackgroundProcess``; the GUI polls it (a QTimer in the module; ``run()`` for scripts). The scene is
touched only when the child has succeeded, so a failure or a cancel leaves it exactly as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from medsynth.catalog import resolve_model
from medsynth.checkpoint import read_card
from medsynth.errors import Cancelled, MedSynthError
from medsynth.inference import InferenceOptions
from medsynth.io import read_volume, write_volume
from medsynth.progress import ProgressCallback

from .BackgroundProcess import BackgroundProcess, State, medsynthCommand
from .SynthesisLogic import storeResult
from .VolumeConversion import volumeFromNode

__all__ = ["BackgroundSynthesis", "State", "cliOptions"]


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
        self.job: BackgroundProcess | None = None
        self.workdir: Path | None = None

    @property
    def state(self) -> State:
        return self.job.state if self.job is not None else State.IDLE

    @property
    def progress(self) -> tuple[int, int, str]:
        return self.job.progress if self.job is not None else (0, 1, "")

    @property
    def error(self) -> str:
        return self.job.error if self.job is not None else ""

    @property
    def process(self):
        return self.job.process if self.job is not None else None

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="medsynth-"))
        # uncompressed: gzip would cost seconds per IXI-sized volume on both sides
        source, self.outputPath = self.workdir / "input.nii", self.workdir / "output.nii"
        write_volume(volumeFromNode(self.inputNode), source)
        self.job = BackgroundProcess(medsynthCommand("synthesize", str(source), str(self.outputPath), "--model",
                                                     self.model, *cliOptions(self.options)))
        self.job.start()

    def poll(self) -> State:
        """Take in the child's new output; returns the state (RUNNING until the child has ended)."""
        state = self.job.poll()
        if state is State.SUCCEEDED and not self.outputPath.is_file():
            self.job.state, self.job.error = State.FAILED, "medsynth ended without writing its output"
        return self.job.state

    def cancel(self) -> None:
        """Kill the child and everything it started; nothing is added to the scene."""
        if self.job is not None:
            self.job.cancel()
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
        if self.workdir is not None:
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
