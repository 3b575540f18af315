"""The training module's state in the scene: the run's settings and its curve nodes in one parameter node.

``TrainingParameters`` is the one definition of the module's parameters; the GUI's ``@parameterNodeWrapper``
class is derived from it (``MedSynthLib.ModuleParameters``), constraints and spin-box ranges included.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

from medsynth.core.errors import ConfigError
from MedSynthLib.Choices import CONTRASTS, DEVICES, TRAINABLE_ARCHITECTURES, UNPAIRED_ARCHITECTURES
from MedSynthLib.ModuleParameters import ModuleParameters, OneOf, Within
from slicer import vtkMRMLPlotChartNode, vtkMRMLTableNode

MODULE_NAME = "MedSynthTrain"
MAX_EPOCHS, MAX_BATCH_SIZE = 100_000, 1024


def isUnpaired(architecture: str) -> bool:
    """Whether ``architecture`` trains on unpaired data (a source and a target domain, possibly two folders)."""
    return architecture in UNPAIRED_ARCHITECTURES


@dataclass
class TrainingParameters(ModuleParameters):
    moduleName: ClassVar[str] = MODULE_NAME

    dataFolder: str = ""  # IXI-style folder (or CSV list file) of co-registered volumes
    targetFolder: str = ""  # unpaired architectures: the target contrast's own folder ("" = dataFolder)
    pattern: str = ""  # file pattern with {subject} and {contrast}; "" = the usual layouts
    source: Annotated[str, OneOf(CONTRASTS)] = "T1"
    target: Annotated[str, OneOf(CONTRASTS)] = "T2"
    architecture: Annotated[str, OneOf(TRAINABLE_ARCHITECTURES)] = "pgan"
    epochs: Annotated[int, Within(1, MAX_EPOCHS)] = 100
    batchSize: Annotated[int, Within(0, MAX_BATCH_SIZE)] = 0  # 0 = the recipe's (1 slice for 2D, 7 patches for 3D)
    learningRate: Annotated[float, Within(1e-6, 1.0)] = 1e-4
    device: Annotated[str, OneOf(DEVICES)] = "auto"
    outputFolder: str = ""  # the run folder
    modelName: str = ""  # "" = the run folder's name
    extraSettings: str = ""  # more settings, e.g. "model.hyperparameters.ngf=32 loss.gdl=1"
    initModel: str = ""  # fine-tune this model (bundled name or file); "" = train from scratch
    historyTable: vtkMRMLTableNode = None
    lossChart: vtkMRMLPlotChartNode = None
    metricChart: vtkMRMLPlotChartNode = None

    @property
    def unpaired(self) -> bool:
        return isUnpaired(self.architecture)

    def checkedArguments(self) -> list[str]:
        """``trainArguments``, with every setting checked by what ``medsynth train`` checks them with
        (``TrainConfig``, torch-free, in this process): a refused run says why before any process starts."""
        from medsynth.training.config import load_config

        args = self.trainArguments()
        load_config(overrides=self.settings())
        return args

    def settings(self) -> dict:
        """The settings ``trainArguments`` gives ``medsynth train``, as ``TrainConfig``'s dotted keys."""
        from medsynth.training.config import parse_override

        values = {"data.root": self.dataFolder, "data.source": self.source, "data.target": self.target,
                  "optim.epochs": self.epochs, "optim.lr": self.learningRate, "device": self.device,
                  "output": self.outputFolder, "name": self.modelName or Path(self.outputFolder).name}
        values.update({"init": self.initModel.strip()} if self.initModel.strip()
                      else {"model.architecture": self.architecture})
        if self.targetFolder:
            values["data.target_root"] = self.targetFolder
        if self.pattern:
            values["data.patterns"] = [self.pattern]
        if self.batchSize > 0:
            values["optim.batch_size"] = self.batchSize
        values.update(dict(parse_override(setting) for setting in shlex.split(self.extraSettings)))
        return values

    def trainArguments(self) -> list[str]:
        """``medsynth train`` arguments for a new run; raises ConfigError for a folder that is missing (the
        settings themselves are checked by ``checkedArguments``)."""
        if not self.dataFolder or not Path(self.dataFolder).exists():
            raise ConfigError(f"choose a dataset folder that exists (got '{self.dataFolder}')")
        if not self.outputFolder:
            raise ConfigError("choose an output folder for the run")
        if self.targetFolder and not Path(self.targetFolder).exists():
            raise ConfigError(f"the target folder '{self.targetFolder}' does not exist")
        args = ["--data", self.dataFolder, "--source", self.source, "--target", self.target,
                "--epochs", str(self.epochs), "--lr", repr(self.learningRate),
                "--device", self.device, "--out", self.outputFolder,
                "--name", self.modelName or Path(self.outputFolder).name]
        # a fine-tuned model keeps its own architecture
        args += ["--init", self.initModel.strip()] if self.initModel.strip() else ["--arch", self.architecture]
        if self.targetFolder:  # a fine-tuned model's own architecture decides (the trainer refuses it if paired)
            args += ["--target-data", self.targetFolder]
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
