"""MedSynthTrain: train a synthesis model on a local dataset and add it to the MedSynth module's models.

A thin Qt layer over ``MedSynthTrainLib`` (Qt-free, tested against a real MRML scene); the widget's only door
is its logic (``TrainingLogic``, typed by ``TrainingLogicProtocol``). The dataset is checked from image
headers in a worker thread once typing pauses, ``medsynth train`` runs in a background process polled by a
QTimer, and its losses and validation PSNR grow live in Slicer's plot view, also while the user is in
another module. Stop keeps every finished epoch; Resume continues exactly. Closing Slicer stops the run
the same way. Nothing here needs torch or MedSynth's packages until training starts.
"""

from pathlib import Path

import qt
import slicer
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.ErrorDisplay import errorsShown
from MedSynthLib.ModuleParameters import parameterNodeFields
from MedSynthLib.ParameterNodeWidget import ParameterNodeWidget
from MedSynthLib.Signal import dependenciesChanged
from MedSynthLib.SlicerVersion import SUPPORTED_SLICER
from MedSynthTrainLib.DatasetCheck import DEBOUNCE_MS, DatasetCheck
from MedSynthTrainLib.TrainingLogic import TrainingLogic
from MedSynthTrainLib.TrainingParameters import TrainingParameters, isUnpaired
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

POLL_MS = 500
DATASET_POLL_MS = 100
CHARTS = ("lossChart", "metricChart")
DOCUMENTATION_URL = "https://github.com/medsynth/SlicerMedSynth/blob/main/docs/training.md"


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
Closing Slicer stops a run like <b>Stop</b> does; <b>Resume</b> continues it after a restart.
The same run can be started from a terminal with <code>medsynth train</code>.
""") + "<p>" + _("Requires {slicer}.").format(slicer=SUPPORTED_SLICER) + " " + _(
            'See the <a href="{url}">training guide</a>.').format(url=DOCUMENTATION_URL) + "</p>"
        self.parent.acknowledgementText = _("""
Training recipes: seed 000 (pGAN: Dar et al., IEEE TMI 2019; Mirza, Dalmaç, Çukur, SIU 2022) for 2D models and
Nie et al. (IEEE TBME 2018) for 3D models.
""")


#
# MedSynthTrainParameterNode
#


@parameterNodeWrapper
class MedSynthTrainParameterNode(parameterNodeFields(TrainingParameters)):
    """The module's state, derived from its one definition, ``MedSynthTrainLib.TrainingParameters``
    (fields, defaults, choices and ranges), which the logic, scripts and tests read and write as well."""


#
# MedSynthTrainWidget
#


class MedSynthTrainWidget(ParameterNodeWidget, ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None, logic=None) -> None:
        """``logic``: a ``MedSynthTrainLib.TrainingLogic.TrainingLogicProtocol`` (default: MedSynthTrainLogic)."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = logic
        self.run = None  # the TrainingJob while one runs
        self.datasetCheck = DatasetCheck()
        self.dependenciesReady = False  # MedSynth's packages installed (else Start offers to install them)
        self._shownMessages = 0
        self._shownUnpaired = False

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        if not self.supportedSlicer():
            return
        self.setupModuleUi(self.logic or MedSynthTrainLogic())  # Resources/UI/MedSynthTrain.ui

        self.ui.dataFolderPathLineEdit.connect("currentPathChanged(QString)", self.onDataFolderChanged)
        self.ui.targetFolderPathLineEdit.connect("currentPathChanged(QString)", self.onTargetFolderChanged)
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
        # the dataset is checked once typing pauses (a path box emits a change per keystroke), off the GUI thread
        self.datasetTimer = qt.QTimer()
        self.datasetTimer.setSingleShot(True)
        self.datasetTimer.setInterval(DEBOUNCE_MS)
        self.datasetTimer.connect("timeout()", self.checkDataset)
        self.datasetPollTimer = qt.QTimer()
        self.datasetPollTimer.setInterval(DATASET_POLL_MS)
        self.datasetPollTimer.connect("timeout()", self.onDatasetPoll)
        self.dependenciesReady = not self.logic.missingDependencies()
        dependenciesChanged.connect(self.onDependenciesChanged)
        self.initializeParameterNode()

    def enter(self) -> None:
        if self.supported:  # installed (or removed) from MedSynth, or by a pip outside, meanwhile
            self.dependenciesReady = not self.logic.missingDependencies()
        ParameterNodeWidget.enter(self)

    def onDependenciesChanged(self) -> None:
        self.dependenciesReady = not self.logic.missingDependencies()
        self.updateGUIFromParameterNode()

    def cleanup(self) -> None:
        """The module goes away (Slicer closes): a run is stopped as by Stop, so Resume can continue it."""
        for timer in ("timer", "datasetTimer", "datasetPollTimer"):
            if hasattr(self, timer):
                getattr(self, timer).stop()
        if self.run is not None:
            self.run.process.stop()
            self.run = None
        dependenciesChanged.disconnect(self.onDependenciesChanged)
        self.removeObservers()

    def setParameterNode(self, inputParameterNode) -> None:
        ParameterNodeWidget.setParameterNode(self, inputParameterNode)
        if self._parameterNode:  # folders are plain text fields, shown in path widgets
            self.ui.dataFolderPathLineEdit.currentPath = self._parameterNode.dataFolder
            self.ui.targetFolderPathLineEdit.currentPath = self._parameterNode.targetFolder
            self.ui.outputFolderPathLineEdit.currentPath = self._parameterNode.outputFolder

    def updateGUIFromParameterNode(self, caller=None, event=None) -> None:
        if self._parameterNode is None:
            return
        running = self.run is not None
        node = self._parameterNode
        if running:
            self.ui.startButton.text = _("Stop")
        elif not self.dependenciesReady:
            self.ui.startButton.text = _("Install dependencies...")
        else:
            self.ui.startButton.text = _("Start training")
        ready = bool(node.dataFolder and node.outputFolder)
        self.ui.startButton.enabled = running or not self.dependenciesReady or ready
        self.ui.resumeButton.enabled = not running and self.logic.canResume(node)
        self.ui.registerButton.enabled = not running and self.logic.hasTrainedModel(node)
        for section in (self.ui.datasetCollapsibleButton, self.ui.modelCollapsibleButton,
                        self.ui.outputCollapsibleButton):
            section.enabled = not running
        unpaired = isUnpaired(node.architecture)
        for widget in (self.ui.targetFolderLabel, self.ui.targetFolderPathLineEdit):
            widget.visible = unpaired  # only unpaired architectures take a second folder
        if unpaired != self._shownUnpaired:  # the summary counts pairs, or each domain's volumes
            self._shownUnpaired = unpaired
            self.datasetTimer.start()

    def onDataFolderChanged(self, path: str) -> None:
        self._parameterNode.dataFolder = path
        self.datasetTimer.start()  # (re)started at every keystroke: the check runs once typing pauses

    def onTargetFolderChanged(self, path: str) -> None:
        self._parameterNode.targetFolder = path
        self.datasetTimer.start()

    def checkDataset(self) -> None:
        """Summarize the dataset from image headers, in a worker thread."""
        if not self.dependenciesReady:
            self.ui.datasetSummaryTextEdit.plainText = _("Install MedSynth's packages first (the button below).")
            return
        node = self._parameterNode
        unpaired = isUnpaired(node.architecture)
        self.datasetCheck.start(node.dataFolder, node.pattern, node.source, node.target, unpaired,
                                node.targetFolder if unpaired else "")
        self.ui.datasetSummaryTextEdit.plainText = _("Checking {folder}...").format(folder=node.dataFolder)
        self.datasetPollTimer.start()

    def onDatasetPoll(self) -> None:
        text = self.datasetCheck.poll()
        if text is not None:
            self.datasetPollTimer.stop()
            self.ui.datasetSummaryTextEdit.plainText = text

    def onOutputFolderChanged(self, path: str) -> None:
        self._parameterNode.outputFolder = path

    # Running

    def ensureDependencies(self) -> bool:
        """True if MedSynth's packages are there; else the install flow MedSynth offers (one confirmation)."""
        from MedSynth import confirmInstall  # MedSynth Train depends on the MedSynth module

        if not self.dependenciesReady:
            self.dependenciesReady = self.logic.installDependencies(confirmInstall)
            self.updateGUIFromParameterNode()
            return False  # installed now: the next click starts training
        return True

    def onStartButton(self) -> None:
        if self.run is not None:
            run = self.run
            run.process.stop()
            self.finishRun(_("Stopped. Finished epochs are kept: Resume continues from the last one.")
                           if self.logic.canResume(run.parameterNode) else _("Stopped before the first epoch ended."))
            return
        if not self.ensureDependencies():
            return
        with errorsShown(_("Failed to start training.")) as outcome:
            self.startRun(self.logic.start(self._parameterNode))
        if outcome.failed:
            self.ui.statusLabel.text = _("Not started: {error}").format(error=outcome.error)

    def onResumeButton(self) -> None:
        if not self.ensureDependencies():
            return
        with errorsShown(_("Failed to resume training.")) as outcome:
            self.startRun(self.logic.resume(self._parameterNode))
        if outcome.failed:
            self.ui.statusLabel.text = _("Not resumed: {error}").format(error=outcome.error)

    def startRun(self, run) -> None:
        self.run = run
        self._shownMessages = 0
        self.ui.logTextEdit.plainText = ""
        self.ui.progressBar.visible = True
        self.ui.progressBar.value = 0
        self.ui.statusLabel.text = _("Training in {folder}").format(folder=run.runFolder)
        self.timer.start()
        self.updateGUIFromParameterNode()

    def onPoll(self) -> None:
        """Progress, log and curves while the run goes on, whether or not the user is in this module: the
        run knows its own parameter node."""
        run = self.run
        state = run.process.poll()
        self.ui.progressBar.value = int(100 * run.process.fraction())
        self.ui.progressBar.format = f"{run.process.job.progress[2]}  %p%"
        for message in run.process.messages[self._shownMessages:]:
            self.ui.logTextEdit.appendPlainText(message)
        self._shownMessages = len(run.process.messages)
        if self.logic.showEpochs(run):
            self.showChart()
        if state is State.SUCCEEDED:
            self.finishRun(_("Done: {folder} holds the model; add it to MedSynth.").format(folder=run.runFolder))
        elif state is State.FAILED:
            self.finishRun(_("Failed: {error}").format(error=run.process.error))
            slicer.util.errorDisplay(_("Training failed: {error}").format(error=run.process.error))

    def showChart(self, index=None) -> None:
        node = self.run.parameterNode if self.run is not None else self._parameterNode
        if node is None:
            return
        name = self.ui.chartComboBox.currentData or CHARTS[0]
        chart = getattr(TrainingParameters.read(getattr(node, "parameterNode", node)), name)
        if chart is not None:
            slicer.modules.plots.logic().ShowChartInLayout(chart)

    def finishRun(self, message: str) -> None:
        self.timer.stop()
        self.run = None
        self.ui.progressBar.visible = False
        self.ui.statusLabel.text = message
        self.updateGUIFromParameterNode()

    def onRegisterButton(self) -> None:
        with errorsShown(_("The model could not be added.")) as outcome:
            choice = self.logic.registerModel(self._parameterNode)  # MedSynth's open menu refreshes itself
            self.ui.statusLabel.text = _("Added {name} ({mapping}) to MedSynth's models.").format(
                name=choice.name, mapping=choice.card.mapping)
        if outcome.failed:
            self.ui.statusLabel.text = _("Not added: {error}").format(error=outcome.error)


#
# MedSynthTrainLogic
#


class MedSynthTrainLogic(TrainingLogic, ScriptedLoadableModuleLogic):
    """The module's logic for the widget, the console and batch use (``MedSynthTrainLib.TrainingLogic``):
    ``MedSynthTrainLogic().train(parameters)`` trains in a child process, blocking.

    For a whole run from a script, ``medsynth train`` in a terminal is the simpler route.
    """

    def getParameterNode(self):
        return MedSynthTrainParameterNode(super().getParameterNode())

    def train(self, parameters=None, onEpoch=None):
        """Train with ``parameters`` (a ``TrainingParameters``; default: the module's) and return the model
        file; the curves are updated in the scene after every epoch."""
        parameters = parameters or TrainingParameters.read(self.getParameterNode().parameterNode)
        return TrainingLogic.train(self, parameters, onEpoch)


#
# MedSynthTrainTest
#


class MedSynthTrainTest(ScriptedLoadableModuleTest):
    """Runs in Slicer: a two-epoch run of a tiny pGAN on phantoms, its curves, and its model in MedSynth."""

    def setUp(self):
        """Here, not in runTest: ctest (slicer_add_python_unittest) runs the test methods without runTest."""
        missing = MedSynthTrainLogic().missingDependencies()
        if missing:
            self.skipTest(f"MedSynth's packages are not installed ({', '.join(missing)})")
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
