"""The MedSynthTrain module's logic: the one door through which its widget, the console and scripts train.

``start``/``resume`` return a ``TrainingJob`` the GUI polls; ``showEpochs(job)`` puts the run's new epochs
into the curve nodes of the job's own parameter node, so curves keep growing while the user is in another
module; ``registerModel`` adds the run's model to MedSynth. Imports of ``medsynth`` happen inside the
methods (the module file imports this at Slicer's start, before the packages may be installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from MedSynthLib.Dependencies import DependencyLogic
from MedSynthLib.RunLogic import rawNode

from .RunFolder import canResume, hasTrainedModel
from .TrainingParameters import TrainingParameters


@dataclass
class TrainingJob:
    parameterNode: Any  # the vtkMRMLScriptedModuleNode the run was started from
    process: Any  # a BackgroundTraining
    shownEpochs: int = 0

    @property
    def runFolder(self):
        return self.process.runFolder


class TrainingLogicProtocol(Protocol):
    """What ``MedSynthTrainWidget`` needs from its logic."""

    def getParameterNode(self): ...
    def missingDependencies(self) -> list[str]: ...
    def installDependencies(self, confirm) -> bool: ...
    def canResume(self, parameterNode) -> bool: ...
    def hasTrainedModel(self, parameterNode) -> bool: ...
    def start(self, parameterNode) -> TrainingJob: ...
    def resume(self, parameterNode) -> TrainingJob: ...
    def showEpochs(self, job: TrainingJob) -> bool: ...
    def registerModel(self, parameterNode): ...


class TrainingLogic(DependencyLogic):

    def canResume(self, parameterNode) -> bool:
        return canResume(TrainingParameters.read(rawNode(parameterNode)).outputFolder)

    def hasTrainedModel(self, parameterNode) -> bool:
        return hasTrainedModel(TrainingParameters.read(rawNode(parameterNode)).outputFolder)

    def start(self, parameterNode) -> TrainingJob:
        """A new run with the node's settings (checked first, nothing started on an error)."""
        from .BackgroundTraining import BackgroundTraining

        parameters = TrainingParameters.read(rawNode(parameterNode))
        job = TrainingJob(rawNode(parameterNode), BackgroundTraining(parameters.outputFolder,
                                                                     parameters.checkedArguments()))
        job.process.start()
        return job

    def resume(self, parameterNode) -> TrainingJob:
        """The node's run folder continued exactly where it stopped (extended to the node's epochs)."""
        from .BackgroundTraining import BackgroundTraining

        parameters = TrainingParameters.read(rawNode(parameterNode))
        job = TrainingJob(rawNode(parameterNode), BackgroundTraining(parameters.outputFolder, epochs=parameters.epochs))
        job.process.start()
        return job

    def showEpochs(self, job: TrainingJob) -> bool:
        """The job's new epochs into its node's history table and charts; True if there were any."""
        from .TrainingCurves import CurveNodes, updateCurves

        history = job.process.history()
        if job.parameterNode.GetScene() is None:  # the scene was closed meanwhile: the curves go on in the new one
            job.parameterNode, job.shownEpochs = TrainingParameters.parameterNode(), 0
        if len(history) == job.shownEpochs:
            return False
        job.shownEpochs = len(history)
        parameters = TrainingParameters.read(job.parameterNode)
        existing = None
        if parameters.historyTable is not None:
            existing = CurveNodes(parameters.historyTable, parameters.lossChart, parameters.metricChart)
        nodes = updateCurves(history, existing, scene=job.parameterNode.GetScene())
        parameters.historyTable, parameters.lossChart, parameters.metricChart = \
            nodes.table, nodes.lossChart, nodes.metricChart
        parameters.write(job.parameterNode)
        return True

    def registerModel(self, parameterNode):
        """The node's run's model added to MedSynth's models; its ``ModelChoice``."""
        from .BackgroundTraining import registerModel

        return registerModel(TrainingParameters.read(rawNode(parameterNode)).outputFolder)

    def train(self, parameters: TrainingParameters, onEpoch=None, scene=None):
        """Blocking: train with ``parameters`` and return the model file; the curves are updated in the scene
        after every epoch."""
        from .BackgroundTraining import BackgroundTraining
        from .TrainingCurves import updateCurves

        nodes = None

        def showEpoch(history):
            nonlocal nodes
            nodes = updateCurves(history, nodes, scene=scene)
            if onEpoch is not None:
                onEpoch(history)

        return BackgroundTraining(parameters.outputFolder, parameters.trainArguments()).run(onEpoch=showEpoch)
