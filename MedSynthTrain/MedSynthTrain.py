"""MedSynthTrain: train a synthesis model on a local dataset and add it to the MedSynth module's models.

A thin Qt layer over ``MedSynthTrainLib`` (Qt-free, tested against a real MRML scene): the dataset is
checked from image headers, ``medsynth train`` runs in a background process polled by a QTimer, and its
losses and validation PSNR grow live in Slicer's plot view. Stop keeps every finished epoch; Resume
continues exactly. ``MedSynthLib`` and ``MedSynthTrainLib`` are imported inside methods, once the MedSynth
module has installed what they need.
"""

from pathlib import Path
from typing import Annotated

import qt
import slicer
from MedSynthLib.Choices import CONTRASTS, DEVICES, TRAINABLE_ARCHITECTURES
from MedSynthLib.ParameterNodeWidget import ParameterNodeWidget
from slicer import vtkMRMLPlotChartNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, Decimals, Minimum, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

POLL_MS = 500
CHARTS = ("lossChart", "metricChart")


#
# MedSynthTrain
#


class MedSynthTrain(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("MedSynth Train")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Filtering")]
        self.parent.dependencies = ["MedSynth"]
        self.parent.contributors = ["MedSynth developers"]
        self.parent.helpText = _("""
Train a MedSynth model (2D pGAN, U-Net or 3D GAN after Nie et al.) on co-registered volumes of your own.
<ol>
<li>Choose the dataset folder: its subjects, contrasts, grids and any problems are listed at once.</li>
<li>Choose source and target contrasts, architecture, epochs and a run folder, then <b>Start training</b>.
Losses and validation PSNR are plotted after every epoch.</li>
<li><b>Stop</b> at any time: finished epochs are kept and <b>Resume</b> continues exactly.</li>
<li><b>Add model to MedSynth</b> makes the run's model (or its best epoch so far) available in MedSynth.</li>
</ol>
The same run can be started from a terminal with <code>medsynth train</code> (see docs/training.md).
""")
        self.parent.helpText += self.getDefaultModuleDocumentationLink()
        self.parent.acknowledgementText = _("""
Training recipes: seed 000 (pGAN: Dar et al., IEEE TMI 2019; Mirza, Dalmaç, Çukur, SIU 2022) for 2D models and
Nie et al. (IEEE TBME 2018) for 3D models.
""")


#
# MedSynthTrainParameterNode
#


@parameterNodeWrapper
class MedSynthTrainParameterNode:
    """The same fields, names and encoding as ``MedSynthTrainLib.TrainingParameters.TrainingParameters``."""

    dataFolder: str = ""
    pattern: str = ""
    source: Annotated[str, Choice(list(CONTRASTS))] = "T1"
    target: Annotated[str, Choice(list(CONTRASTS))] = "T2"
    architecture: Annotated[str, Choice(list(TRAINABLE_ARCHITECTURES))] = "pgan"
    epochs: Annotated[int, Minimum(1)] = 100
    batchSize: Annotated[int, Minimum(0)] = 0
    learningRate: Annotated[float, Decimals(6), Minimum(1e-6)] = 1e-4
    device: Annotated[str, Choice(list(DEVICES))] = "auto"
    outputFolder: str = ""
    modelName: str = ""
    extraSettings: str = ""
    historyTable: vtkMRMLTableNode
    lossChart: vtkMRMLPlotChartNode
    metricChart: vtkMRMLPlotChartNode


#
# MedSynthTrainWidget
#


class MedSynthTrainWidget(ParameterNodeWidget, ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self.run = None  # the BackgroundTraining while one runs
        self._shownEpochs = 0
        self._shownMessages = 0

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        self.setupModuleUi(MedSynthTrainLogic())  # Resources/UI/MedSynthTrain.ui

        self.ui.dataFolderPathLineEdit.connect("currentPathChanged(QString)", self.onDataFolderChanged)
        self.ui.outputFolderPathLineEdit.connect("currentPathChanged(QString)", self.onOutputFolderChanged)
        self.ui.startButton.connect("clicked(bool)", self.onStartButton)
        self.ui.resumeButton.connect("clicked(bool)", self.onResumeButton)
        self.ui.registerButton.connect("clicked(bool)", self.onRegisterButton)
        self.ui.chartComboBox.addItem(_("Losses"), "lossChart")
        self.ui.chartComboBox.addItem(_("Validation PSNR"), "metricChart")
        self.ui.chartComboBox.connect("currentIndexChanged(int)", self.showChart)
        self.ui.progressBar.visible = False
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.connect("timeout()", self.onPoll)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.timer.stop()  # a running training goes on in its own process; Resume picks it up later
        self.removeObservers()

    def setParameterNode(self, inputParameterNode) -> None:
        ParameterNodeWidget.setParameterNode(self, inputParameterNode)
        if self._parameterNode:  # folders are plain text fields, shown in path widgets
            self.ui.dataFolderPathLineEdit.currentPath = self._parameterNode.dataFolder
            self.ui.outputFolderPathLineEdit.currentPath = self._parameterNode.outputFolder

    def updateGUIFromParameterNode(self, caller=None, event=None) -> None:
        if self._parameterNode is None:
            return
        from MedSynthTrainLib.BackgroundTraining import canResume, hasTrainedModel

        running = self.run is not None
        folder = self._parameterNode.outputFolder
        self.ui.startButton.text = _("Stop") if running else _("Start training")
        self.ui.startButton.enabled = running or bool(self._parameterNode.dataFolder and folder)
        self.ui.resumeButton.enabled = not running and bool(folder) and canResume(folder)
        self.ui.registerButton.enabled = not running and bool(folder) and hasTrainedModel(folder)
        for section in (self.ui.datasetCollapsibleButton, self.ui.modelCollapsibleButton,
                        self.ui.outputCollapsibleButton):
            section.enabled = not running

    def onDataFolderChanged(self, path: str) -> None:
        """Summarize the dataset from image headers as soon as it is chosen."""
        self._parameterNode.dataFolder = path
        if not path or not Path(path).exists():
            self.ui.datasetSummaryTextEdit.plainText = ""
            return
        from medsynth.dataset_summary import summarize_dataset

        with slicer.util.tryWithErrorDisplay(_("Could not read the dataset."), waitCursor=True):
            patterns = [self._parameterNode.pattern] if self._parameterNode.pattern else None
            summary = summarize_dataset(path, patterns, self._parameterNode.source, self._parameterNode.target)
            self.ui.datasetSummaryTextEdit.plainText = summary.text()

    def onOutputFolderChanged(self, path: str) -> None:
        self._parameterNode.outputFolder = path

    # Running

    def onStartButton(self) -> None:
        if self.run is not None:
            from MedSynthTrainLib.BackgroundTraining import canResume

            self.run.stop()
            self.finishRun(_("Stopped. Finished epochs are kept: Resume continues from the last one.")
                           if canResume(self.run.runFolder) else _("Stopped before the first epoch ended."))
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to start training."), waitCursor=True):
            from MedSynthTrainLib.BackgroundTraining import BackgroundTraining
            from MedSynthTrainLib.TrainingParameters import TrainingParameters

            parameters = TrainingParameters.read(self._parameterNode.parameterNode)
            self.startRun(BackgroundTraining(parameters.outputFolder, parameters.trainArguments()))

    def onResumeButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to resume training."), waitCursor=True):
            from MedSynthTrainLib.BackgroundTraining import BackgroundTraining

            self.startRun(BackgroundTraining(self._parameterNode.outputFolder, epochs=self._parameterNode.epochs))

    def startRun(self, run) -> None:
        self.run = run
        self._shownEpochs = self._shownMessages = 0
        self.ui.logTextEdit.plainText = ""
        run.start()
        self.ui.progressBar.visible = True
        self.ui.progressBar.value = 0
        self.ui.statusLabel.text = _("Training in {folder}").format(folder=run.runFolder)
        self.timer.start()
        self.updateGUIFromParameterNode()

    def onPoll(self) -> None:
        from MedSynthLib.BackgroundProcess import State

        state = self.run.poll()
        self.ui.progressBar.value = int(100 * self.run.fraction())
        self.ui.progressBar.format = f"{self.run.job.progress[2]}  %p%"
        for message in self.run.messages[self._shownMessages:]:
            self.ui.logTextEdit.appendPlainText(message)
        self._shownMessages = len(self.run.messages)
        self.updateCurves()
        if state is State.SUCCEEDED:
            self.finishRun(_("Done: {folder} holds the model; add it to MedSynth.").format(folder=self.run.runFolder))
        elif state is State.FAILED:
            error = self.run.error
            self.finishRun(_("Failed: {error}").format(error=error))
            slicer.util.errorDisplay(_("Training failed: {error}").format(error=error))

    def updateCurves(self) -> None:
        from MedSynthTrainLib.TrainingCurves import CurveNodes, updateCurves

        history = self.run.history()
        if len(history) == self._shownEpochs:
            return
        self._shownEpochs = len(history)
        node = self._parameterNode
        existing = CurveNodes(node.historyTable, node.lossChart, node.metricChart) if node.historyTable else None
        nodes = updateCurves(history, existing)
        node.historyTable, node.lossChart, node.metricChart = nodes.table, nodes.lossChart, nodes.metricChart
        self.showChart()

    def showChart(self, index=None) -> None:
        chart = getattr(self._parameterNode, self.ui.chartComboBox.currentData or CHARTS[0])
        if chart is not None:
            slicer.modules.plots.logic().ShowChartInLayout(chart)

    def finishRun(self, message: str) -> None:
        self.timer.stop()
        self.run = None
        self.ui.progressBar.visible = False
        self.ui.statusLabel.text = message
        self.updateGUIFromParameterNode()

    def onRegisterButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("The model could not be added."), waitCursor=True):
            from MedSynthTrainLib.BackgroundTraining import registerModel

            choice = registerModel(self._parameterNode.outputFolder)
            self.ui.statusLabel.text = _("Added {name} ({mapping}) to MedSynth's models.").format(
                name=choice.name, mapping=choice.card.mapping)
            widget = slicer.modules.medsynth.widgetRepresentation()
            if widget is not None:  # MedSynth already open: offer the new model at once
                widget.self().catalog = None
                widget.self().refreshModels()


#
# MedSynthTrainLogic
#


class MedSynthTrainLogic(ScriptedLoadableModuleLogic):
    """Console and batch use: ``MedSynthTrainLogic().train(parameters)`` trains in a child process, blocking.

    For a whole run from a script, ``medsynth train`` in a terminal is the simpler route.
    """

    def getParameterNode(self):
        return MedSynthTrainParameterNode(super().getParameterNode())

    def train(self, parameters=None, onEpoch=None):
        """Train with ``parameters`` (a ``TrainingParameters``; default: the module's) and return the model
        file; the curves are updated in the scene after every epoch."""
        from MedSynthTrainLib.BackgroundTraining import BackgroundTraining
        from MedSynthTrainLib.TrainingCurves import updateCurves
        from MedSynthTrainLib.TrainingParameters import TrainingParameters

        parameters = parameters or TrainingParameters.read(self.getParameterNode().parameterNode)
        nodes = None

        def showEpoch(history):
            nonlocal nodes
            nodes = updateCurves(history, nodes)
            if onEpoch is not None:
                onEpoch(history)

        return BackgroundTraining(parameters.outputFolder, parameters.trainArguments()).run(onEpoch=showEpoch)


#
# MedSynthTrainTest
#


class MedSynthTrainTest(ScriptedLoadableModuleTest):
    """Runs in Slicer: a two-epoch run of a tiny pGAN on phantoms, its curves, and its model in MedSynth."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_TinyRunAndRegister()

    def test_TinyRunAndRegister(self):
        import tempfile

        from medsynth.phantom import write_phantom_dataset
        from MedSynthLib.ModelCatalog import ModelCatalog
        from MedSynthTrainLib.BackgroundTraining import registerModel
        from MedSynthTrainLib.TrainingParameters import TrainingParameters

        folder = Path(tempfile.mkdtemp(prefix="MedSynthTrainTest-"))
        self.delayDisplay("Writing 4 phantom subjects")
        write_phantom_dataset(folder / "data", 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
        settings = ("model.hyperparameters.ngf=4 model.hyperparameters.n_blocks=2 model.hyperparameters.dense_blocks=1 "
                    "model.discriminator_hyperparameters.ndf=4 model.discriminator_hyperparameters.n_layers=2 "
                    "data.size=48 optim.slices_per_epoch=4 data.validation=0.25 data.test=0.25")
        parameters = TrainingParameters(dataFolder=str(folder / "data"), outputFolder=str(folder / "run"), epochs=2,
                                        batchSize=2, device="cpu", extraSettings=settings)
        self.delayDisplay("Training for 2 epochs")
        epochs = []
        model = MedSynthTrainLogic().train(parameters, onEpoch=lambda history: epochs.append(len(history)))
        self.assertEqual(model.name, "model.safetensors")
        self.assertEqual(epochs[-1], 2)
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLPlotChartNode"), 2)
        choice = registerModel(folder / "run", ModelCatalog(folder / "models.json"))
        self.assertEqual(choice.card.mapping, "T1->T2")
        self.delayDisplay("Test passed")
