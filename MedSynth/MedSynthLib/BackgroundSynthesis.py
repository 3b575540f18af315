"""Synthesis in a child process, so Slicer's GUI never freezes and Cancel can stop it at once.

The input node is written to a temporary NIfTI file and ``medsynth synthesize`` runs on it in a
``BackgroundProcess``; the GUI polls it (a QTimer in the module; scripts that want to block use the
in-process route, ``SynthesisLogic``). The scene is touched only when the child has succeeded, so a failure
or a cancel leaves it exactly as it was.

The route is as exact as the in-process one: bundled models go to the child by catalog name, so the child
checks their SHA256 as ``resolve_model`` always does, and the result is put on the input node's own grid
(taken when the run starts), not on the grid read back from the float32 NIfTI header. Torch is never
imported into Slicer's process.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from medsynth.core.catalog import model_card
from medsynth.core.errors import MedSynthError
from medsynth.core.options import write_options
from medsynth.flagging import uncertain_share
from medsynth.inference import InferenceOptions, Synthesis
from medsynth.io import read_volume, write_volume
from medsynth.mask import foreground_mask
from medsynth.trust import record_of
from medsynth.volume import Volume

from .BackgroundProcess import BackgroundProcess, State, medsynthCommand
from .OutputNodes import StoredSynthesis, storeSynthesis
from .VolumeConversion import volumeFromNode

__all__ = ["BackgroundSynthesis", "State"]
WARNING_PREFIX = "medsynth: WARNING: "  # how the child's logging writes a warning (medsynth.cli.main)


class BackgroundSynthesis:
    """One synthesis of ``inputNode`` with ``model`` (catalog name or file) in a child process."""

    def __init__(self, inputNode, model: str, options: InferenceOptions | None = None,
                 uncertainty: bool = False, extraInputNodes=(), skullStrip: bool = False) -> None:
        self.card = model_card(model)  # a wrong model fails here, before any process starts (nothing downloaded)
        self.options = options or InferenceOptions()
        self.card.check_request(len(extraInputNodes) + 1, uncertainty, method=self.options.uncertainty)
        self.inputNode, self.model = inputNode, str(model)
        self.uncertainty, self.extraInputNodes, self.skullStrip = uncertainty, list(extraInputNodes), skullStrip
        self.job: BackgroundProcess | None = None
        self.workdir: Path | None = None
        self.inputGrid = None  # the input's exact voxel shape and IJK-to-RAS matrix when the run started
        self.inputHead = None  # its foreground, for the uncertainty summary

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
        source = volumeFromNode(self.inputNode)
        self.inputGrid = (source.array.shape, source.ijk_to_ras.copy())
        self.inputHead = foreground_mask(source.array) if self.uncertainty else None  # as the child finds it
        self.workdir = Path(tempfile.mkdtemp(prefix="medsynth-"))
        # uncompressed: gzip would cost seconds per IXI-sized volume on both sides
        sourcePath, self.outputPath = self.workdir / "input.nii", self.workdir / "output.nii"
        self.uncertaintyPath, self.trustPath = self.workdir / "uncertainty.nii", self.workdir / "untrusted.nii"
        optionsPath = self.workdir / "options.json"  # every inference setting, as the options dataclass holds it
        extra = ["--options-file", str(optionsPath)]
        extra += ["--uncertainty", str(self.uncertaintyPath)] if self.uncertainty else []
        extra += ["--trust-mask", str(self.trustPath)] if record_of(self.card) is not None else []
        self.brainPath = self.workdir / "brain.nii"
        extra += ["--skull-strip", "--brain-mask", str(self.brainPath)] if self.skullStrip else []
        try:
            write_options(self.options, optionsPath)
            write_volume(source, sourcePath)
            for number, node in enumerate(self.extraInputNodes, 2):  # resampled onto the first by the child if needed
                path = self.workdir / f"input{number}.nii"
                write_volume(volumeFromNode(node), path)
                extra += ["--input", str(path)]
            self.job = BackgroundProcess(medsynthCommand("synthesize", str(sourcePath), str(self.outputPath),
                                                         "--model", self.model, *extra))
            self.job.start()
        except BaseException:
            self.cleanup()
            raise

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

    @property
    def warnings(self) -> list[str]:
        """The child's out-of-domain warnings (its ``medsynth: WARNING:`` lines)."""
        messages = self.job.messages if self.job is not None else []
        return [m.split(WARNING_PREFIX, 1)[1] for m in messages if WARNING_PREFIX in m]

    def result(self) -> Synthesis:
        """After success: the synthetic volume (and uncertainty map, and trust mask) on the input's exact grid,
        and the warnings (the temporary folder is removed)."""
        if self.state is not State.SUCCEEDED:
            self.cleanup()
            raise MedSynthError(f"no result to take: the synthesis {self.state.value}")
        try:
            image = read_volume(self.outputPath)
            spread = read_volume(self.uncertaintyPath) if self.uncertainty else None
            untrusted = read_volume(self.trustPath) if self.trustPath.is_file() else None
            brain = read_volume(self.brainPath) if self.skullStrip else None
        finally:
            self.cleanup()
        shape, matrix = self.inputGrid
        if image.array.shape != shape:
            raise MedSynthError(f"the synthetic volume has shape {image.array.shape}, the input {shape}")
        def onInputGrid(volume):
            return None if volume is None else Volume(volume.array, matrix)

        result = Synthesis(Volume(image.array, matrix), onInputGrid(spread), self.warnings, onInputGrid(untrusted),
                           onInputGrid(brain))
        if spread is not None:  # the head the child ran in: the brain when stripped, else the input's foreground
            head = brain.array > 0 if brain is not None else self.inputHead
            result.uncertain_share = uncertain_share(image.array, spread.array, head, self.card,
                                                     self.card.uncertainty_method(self.options.uncertainty))
        return result

    def store(self, outputNode=None, uncertaintyNode=None) -> StoredSynthesis:
        """After success: the result in the scene (nodes created where ``None``), next to the input."""
        return storeSynthesis(self.inputNode, self.result(), self.card.mapping, outputNode, uncertaintyNode,
                              model=self.model, modelName=self.card.name)

    def cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
