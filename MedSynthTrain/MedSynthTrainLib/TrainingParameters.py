"""The training module's state in the scene: the run's settings and its curve nodes in one parameter node."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from medsynth.contrasts import canonical_contrast
from medsynth.errors import ConfigError
from MedSynthLib.Choices import DEVICES
from MedSynthLib.Choices import TRAINABLE_ARCHITECTURES as ARCHITECTURES
from MedSynthLib.Parameters import ParameterNodeView

MODULE_NAME = "MedSynthTrain"
NODE_FIELDS = ("historyTable", "lossChart", "metricChart")


@dataclass
class TrainingParameters(ParameterNodeView):
    moduleName: ClassVar[str] = MODULE_NAME
    nodeFields: ClassVar[tuple[str, ...]] = NODE_FIELDS

    dataFolder: str = ""  # IXI-style folder (or CSV list file) of co-registered volumes
    pattern: str = ""  # file pattern with {subject} and {contrast}; "" = the usual layouts
    source: str = "T1"
    target: str = "T2"
    architecture: str = "pgan"
    epochs: int = 100
    batchSize: int = 0  # 0 = the architecture's recipe (1 slice for 2D, 7 patches for 3D)
    learningRate: float = 1e-4
    device: str = "auto"
    outputFolder: str = ""  # the run folder
    modelName: str = ""  # "" = the run folder's name
    extraSettings: str = ""  # more settings, e.g. "model.hyperparameters.ngf=32 loss.gdl=1"
    historyTable: object = None
    lossChart: object = None
    metricChart: object = None

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got '{self.architecture}'")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got '{self.device}'")

    def trainArguments(self) -> list[str]:
        """``medsynth train`` arguments for a new run; raises ConfigError naming what is missing or wrong."""
        if not self.dataFolder or not Path(self.dataFolder).exists():
            raise ConfigError(f"choose a dataset folder that exists (got '{self.dataFolder}')")
        if not self.outputFolder:
            raise ConfigError("choose an output folder for the run")
        if canonical_contrast(self.source) == canonical_contrast(self.target):
            raise ConfigError(f"source and target contrasts must differ (both are {self.source})")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.learningRate <= 0:
            raise ConfigError(f"learning rate must be positive, got {self.learningRate}")
        args = ["--data", self.dataFolder, "--source", self.source, "--target", self.target,
                "--arch", self.architecture, "--epochs", str(self.epochs), "--lr", repr(self.learningRate),
                "--device", self.device, "--out", self.outputFolder,
                "--name", self.modelName or Path(self.outputFolder).name]
        if self.pattern:
            args += ["--pattern", self.pattern]
        if self.batchSize > 0:
            args += ["--batch-size", str(self.batchSize)]
        for setting in shlex.split(self.extraSettings):
            if "=" not in setting:
                raise ConfigError(f"extra setting '{setting}' must look like section.key=value "
                                  "(e.g. model.hyperparameters.ngf=32)")
            args += ["--set", setting]
        return args
