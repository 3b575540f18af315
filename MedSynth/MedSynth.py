"""MedSynth: synthesize an unacquired MRI contrast (or CT) from an acquired one, and compare it with a real one.

A thin Qt layer, in the five classes of Slicer's scripted-module template. The widget's only door to the
work is its logic (``MedSynthLib.RunLogic``, typed by ``SynthesisLogicProtocol``): model menu and card,
dependencies, ``start`` (a background process polled by a QTimer, so Slicer never freezes; the Synthesize
button turns into Cancel) and ``finish``. The console and batch scripts use the same logic.

Supported: 3D Slicer 5.10 or newer (Python 3.12). This file and what it imports at Slicer's start need
neither torch nor MedSynth's other packages, which are installed on first use ("Install dependencies...").
"""

import logging

import qt
import slicer
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.ErrorDisplay import errorsShown
from MedSynthLib.HelpText import architectureItems, references
from MedSynthLib.ModuleParameters import parameterNodeFields
from MedSynthLib.ParameterNodeWidget import ParameterNodeWidget
from MedSynthLib.Parameters import SynthesisParameters, defaultInputVolume, inputContrastsOf, strideProblem
from MedSynthLib.RunLogic import RunLogic
from MedSynthLib.Signal import dependenciesChanged, modelsChanged
from MedSynthLib.SlicerVersion import SUPPORTED_SLICER
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

POLL_MS = 200
DOCUMENTATION_URL = "https://github.com/medsynth/SlicerMedSynth#readme"


#
# MedSynth
#


class MedSynth(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("MedSynth")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Filtering")]
        self.parent.dependencies = []
        self.parent.contributors = ["MedSynth developers"]
        self.parent.helpText = _("""
Synthesize an unacquired contrast or modality (T1w, T2w, PD, FLAIR, CT, 7 T) from an acquired MRI volume with
GAN generators, and compare it with a real volume of the same subject.
<ol>
<li>Choose the input volume and the mapping (source -&gt; target); the default model of the mapping is
chosen, and its card (training data, test metrics, what to cite) is shown.</li>
<li>Optionally choose a real target-contrast volume as reference: a difference map (blue: too dark, red: too
bright) is added over the synthetic volume in the axial, sagittal and coronal views, and PSNR, SSIM and MAE
inside the head are reported and written to a table. Both images are compared in world coordinates (through
their transforms) and, when their intensity scales differ, each on its own robust scale.</li>
<li>Click <b>Synthesize</b>. The model runs in a background process; click again to cancel.</li>
</ol>
Models (the card of each says what it was trained on and how it scored); add your own, trained with MedSynth
Train or <code>medsynth train</code>. Try it on the MedSynthPhantom sample (Sample Data module, MedSynth
category).
""") + architectureItems() + "<p>" + _("Requires {slicer}.").format(slicer=SUPPORTED_SLICER) + " " + _(
            'See the <a href="{url}">MedSynth documentation</a>.').format(url=DOCUMENTATION_URL) + "</p>"
        self.parent.acknowledgementText = _("Methods:") + "<br>" + references() + "<br>" + _(
            "PyTorch is provided by the SlicerPyTorch extension.")
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData():
    """The MedSynthPhantom sample (T1w, T2w, PD of one phantom subject) in the Sample Data module."""
    import SampleData
    from MedSynthLib.SampleVolumes import registerSampleData as register

    register(SampleData.SampleDataLogic)


def confirmInstall(missing: list[str]) -> bool:
    """The one confirmation before MedSynth's packages are installed (shared with MedSynth Train)."""
    return slicer.util.confirmOkCancelDisplay(
        _("MedSynth needs these Python packages, which will now be installed (this can take minutes):")
        + "\n\n" + "\n".join(missing) + "\n\n" + _("PyTorch is installed by the PyTorch extension."),
        windowTitle=_("MedSynth: install dependencies"))


#
# MedSynthParameterNode
#


@parameterNodeWrapper
class MedSynthParameterNode(parameterNodeFields(SynthesisParameters)):
    """The module's state, derived from its one definition, ``MedSynthLib.Parameters.SynthesisParameters``
    (fields, defaults and choices), which the logic, scripts and tests read and write as well."""


#
# MedSynthWidget
#


class MedSynthWidget(ParameterNodeWidget, ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None, logic=None) -> None:
        """``logic``: a ``MedSynthLib.RunLogic.SynthesisLogicProtocol`` (default: ``MedSynthLogic()``)."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = logic
        self.job = None  # the SynthesisJob while one runs
        self.modelsReady = False  # dependencies installed and the model menu filled
        self._shownMenu = None  # (mapping, architecture, mode, model) the combo boxes were filled for
        self._refreshing = False

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        if not self.supportedSlicer():
            return  # the panel says why; enter() and exit() then do nothing
        self.setupModuleUi(self.logic or MedSynthLogic())  # Resources/UI/MedSynth.ui

        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.addModelButton.connect("clicked(bool)", self.onAddModelButton)
        self.ui.mappingComboBox.connect("currentIndexChanged(int)", self.onMappingChanged)
        self.ui.architectureComboBox.connect("currentIndexChanged(int)", self.onArchitectureChanged)
        self.ui.modelComboBox.connect("currentIndexChanged(int)", self.onModelChanged)
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.connect("timeout()", self.onPoll)
        self.ui.progressBar.visible = False
        modelsChanged.connect(self.onModelsChanged)
        dependenciesChanged.connect(self.onDependenciesChanged)

        self.initializeParameterNode()
        self.refreshModels()

    def enter(self) -> None:
        ParameterNodeWidget.enter(self)
        if self.supported and not self.modelsReady:  # installed from MedSynth Train meanwhile, or a pip outside
            self.refreshModels()

    def cleanup(self) -> None:
        if hasattr(self, "timer"):
            self.timer.stop()
        if self.job is not None:
            self.job.cancel()
            self.job = None
        modelsChanged.disconnect(self.onModelsChanged)
        dependenciesChanged.disconnect(self.onDependenciesChanged)
        self.removeObservers()

    def onSceneStartClose(self, caller, event) -> None:
        if self.job is not None:  # its result would go into the scene being closed
            self.cancelJob(_("Cancelled: the scene was closed."))
        ParameterNodeWidget.onSceneStartClose(self, caller, event)

    def initializeParameterNode(self) -> None:
        ParameterNodeWidget.initializeParameterNode(self)
        if not self._parameterNode.inputVolume:
            firstVolumeNode = defaultInputVolume(slicer.mrmlScene)  # not a label map or a vector volume
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode

    # Models

    def shownSettings(self) -> tuple:
        node = self._parameterNode
        return node.mapping, node.architecture, node.mode, node.model

    def refreshModels(self) -> None:
        """Fill mapping, architecture and model choices from the catalog (once dependencies are there)."""
        if self._parameterNode is None:
            return
        if self.logic.missingDependencies():
            self.modelsReady = False
            self.ui.statusLabel.text = _("MedSynth's Python packages are not installed yet: click the button below.")
            self.updateGUIFromParameterNode()
            return
        self._refreshing = True
        with errorsShown(_("Could not read the model catalog.")) as outcome:
            state = self.logic.modelMenu(self._parameterNode)
            menu = state.menu
            self.fillComboBox(self.ui.mappingComboBox, [(m, m) for m in menu.mappings], menu.mapping)
            architectures = [("", _("(default)"))] + [(a, a) for a in menu.architectures]
            self.fillComboBox(self.ui.architectureComboBox, architectures, menu.architecture)
            self.fillComboBox(self.ui.modelComboBox, [(c.key, c.label) for c in menu.models], menu.model)
            self.ui.modelCardBrowser.setHtml(self.logic.modelCardHtml(self._parameterNode))
            if state.problems:
                self.ui.statusLabel.text = "\n".join(state.problems)
            self.modelsReady = True
        if outcome.failed:
            self.ui.statusLabel.text = _("Could not read the model catalog: {error}").format(error=outcome.error)
        self._shownMenu = self.shownSettings()  # also after a failure: the observer must not retry in a loop
        self._refreshing = False
        self.updateGUIFromParameterNode()

    def onDependenciesChanged(self) -> None:
        """MedSynth's packages were installed (here or from MedSynth Train): fill the model menu."""
        if self._parameterNode is not None and not self.modelsReady:
            self.refreshModels()

    def onModelsChanged(self) -> None:
        """A model file was added (here or in MedSynth Train): offer it."""
        self.logic.refreshModels()
        if self.modelsReady:
            self.refreshModels()

    @staticmethod
    def fillComboBox(comboBox, items, current) -> None:
        """Items as (data, label); signals blocked so filling does not count as the user's choice."""
        wasBlocked = comboBox.blockSignals(True)
        comboBox.clear()
        for data, label in items:
            comboBox.addItem(label, data)
        index = comboBox.findData(current)
        comboBox.setCurrentIndex(max(index, 0))
        comboBox.blockSignals(wasBlocked)

    def onMappingChanged(self, index) -> None:
        self._parameterNode.mapping = self.ui.mappingComboBox.itemData(index) or ""
        self._parameterNode.model = ""
        self.refreshModels()

    def onArchitectureChanged(self, index) -> None:
        self._parameterNode.architecture = self.ui.architectureComboBox.itemData(index) or ""
        self._parameterNode.model = ""
        self.refreshModels()

    def onModelChanged(self, index) -> None:
        self._parameterNode.model = self.ui.modelComboBox.itemData(index) or ""
        self.refreshModels()

    def onAddModelButton(self) -> None:
        path = qt.QFileDialog.getOpenFileName(self.parent, _("Add a MedSynth model"), "",
                                              _("MedSynth models (*.safetensors)"))
        if not path:
            return
        with errorsShown(_("This file is not a usable MedSynth model.")) as outcome:
            self.logic.addModelFile(self._parameterNode, path)  # its modelsChanged signal refreshes the menu
        if outcome.failed:
            self.ui.statusLabel.text = _("Not added: {error}").format(error=outcome.error)

    # State

    def updateGUIFromParameterNode(self, caller=None, event=None) -> None:
        """The node's observer: never raises (an exception here would surface in Slicer's console at every
        change of the node, for instance at every keystroke in a text field)."""
        if self._parameterNode is None or self._refreshing:
            return
        try:
            self.showParameters()
        except Exception as error:
            logging.exception("MedSynth: the panel could not show the module's settings")
            self.ui.statusLabel.text = _("Could not show the settings: {error}").format(error=error)

    def showParameters(self) -> None:
        if self.modelsReady and self.shownSettings() != self._shownMenu:
            self.refreshModels()  # another scene, a loaded scene or a script changed the choice: show it
            return
        if self.modelsReady and self.job is None:
            self.logic.releaseStaleOutputs(self._parameterNode)  # another input or mapping: new outputs
        running = self.job is not None
        strideError = strideProblem(self._parameterNode.patchStride)
        if running:
            self.ui.applyButton.text = _("Cancel")
            self.ui.applyButton.toolTip = _("Stop the synthesis; the scene is left as it was.")
            self.ui.applyButton.enabled = True
        elif not self.modelsReady:
            self.ui.applyButton.text = _("Install dependencies...")
            self.ui.applyButton.toolTip = _("Install PyTorch (through the PyTorch extension) and MedSynth's packages.")
            self.ui.applyButton.enabled = True
        else:
            target = self._parameterNode.mapping.split("->")[-1]
            self.ui.applyButton.text = _("Synthesize {target}").format(target=target)
            self.ui.applyButton.toolTip = _("Run the model on the input volume (in the background).")
            contrasts = inputContrastsOf(self._parameterNode.mapping)
            needed = [self._parameterNode.inputVolume, self._parameterNode.secondInputVolume,
                      self._parameterNode.thirdInputVolume][: len(contrasts)]
            self.ui.applyButton.enabled = bool(all(needed) and self._parameterNode.model and not strideError)
            if strideError:
                self.ui.applyButton.toolTip = strideError
        self.showStride(strideError)
        self.showInputSelectors(inputContrastsOf(self._parameterNode.mapping))
        for widget in (self.ui.inputsCollapsibleButton, self.ui.advancedCollapsibleButton,
                       self.ui.outputsCollapsibleButton):
            widget.enabled = not running
        self.ui.strideLineEdit.enabled = self._parameterNode.mode != "slice"
        self.ui.axisComboBox.enabled = self._parameterNode.mode != "patch"
        self.ui.uncertaintyMethodComboBox.enabled = self._parameterNode.uncertainty

    def showStride(self, problem: str | None) -> None:
        """Text that is no stride (yet: "f" on the way to "full") is marked in the field, not raised."""
        self.ui.strideLineEdit.styleSheet = "QLineEdit { color: #c00000; }" if problem else ""

    def showInputSelectors(self, contrasts: list[str]) -> None:
        """As many input selectors as the mapping has inputs, each labelled with its contrast."""
        self.ui.inputLabel.text = _("Input volume ({contrast}):").format(contrast=contrasts[0])
        extra = ((self.ui.secondInputLabel, self.ui.secondInputSelector),
                 (self.ui.thirdInputLabel, self.ui.thirdInputSelector))
        for number, (label, selector) in enumerate(extra, 1):
            shown = number < len(contrasts)
            label.visible = selector.visible = shown
            if shown:
                label.text = _("Input {number} ({contrast}):").format(number=number + 1, contrast=contrasts[number])

    # Running

    def onApplyButton(self) -> None:
        if self.job is not None:
            self.cancelJob(_("Cancelled: the scene is unchanged."))
            return
        if not self.modelsReady:
            if self.logic.installDependencies(confirmInstall):
                self.refreshModels()
            return
        with errorsShown(_("Failed to start the synthesis.")) as outcome:
            job = self.logic.start(self._parameterNode)
            self.job = job
            self.ui.metricsLabel.text = ""
            self.ui.statusLabel.text = _("Running {model}...").format(model=job.modelName)
            self.ui.progressBar.visible = True
            self.ui.progressBar.value = 0
            self.timer.start()
        if outcome.failed:
            self.ui.statusLabel.text = _("Not started: {error}").format(error=outcome.error)
        self.updateGUIFromParameterNode()

    def onPoll(self) -> None:
        """Progress while the child runs; the result into the scene when it has succeeded. Works whether or
        not the user is in this module: the job knows its own parameter node."""
        job = self.job
        state = job.poll()
        done, total, message = job.progress
        self.ui.progressBar.maximum = max(total, 1)
        self.ui.progressBar.value = done
        self.ui.progressBar.format = f"{message} %p%" if message else "%p%"
        if state is State.RUNNING:
            return
        self.job = None  # the panel is idle again whatever happens below
        self.timer.stop()
        self.ui.progressBar.visible = False
        if state is State.SUCCEEDED:
            self.finishJob(job)
        else:
            job.cancel()  # removes its temporary files
            self.ui.statusLabel.text = _("Failed: {error}").format(error=job.error)
            slicer.util.errorDisplay(_("Synthesis failed: {error}").format(error=job.error))
        self.updateGUIFromParameterNode()

    def finishJob(self, job) -> None:
        """The result into the scene. If the comparison with the reference fails, the synthetic volume is kept
        and shown (``RunLogic.completeRun``), and the status names it next to the error."""
        with errorsShown(_("The result could not be completed.")) as outcome:
            result = self.logic.finish(job)
            slicer.util.resetSliceViews()
            self.ui.metricsLabel.text = self.logic.metricsHtml(result)
            name = result.parameters.outputVolume.GetName()
            self.ui.statusLabel.text = (_("Done: {name} (see the warnings below)") if result.warnings
                                        else _("Done: {name}")).format(name=name)
        if outcome.failed:  # a failed comparison says which synthetic volume was kept
            self.ui.metricsLabel.text = ""
            self.ui.statusLabel.text = _("Failed: {error}").format(error=outcome.error)

    def cancelJob(self, message: str) -> None:
        self.timer.stop()
        self.job.cancel()
        self.job = None
        self.ui.progressBar.visible = False
        self.ui.statusLabel.text = message
        self.updateGUIFromParameterNode()


#
# MedSynthLogic
#


class MedSynthLogic(RunLogic, ScriptedLoadableModuleLogic):
    """The module's logic, for the widget, the Python console and batch scripts (``MedSynthLib.RunLogic``):

        logic = MedSynth.MedSynthLogic()
        parameters = logic.getParameterNode(); parameters.inputVolume = volumeNode
        result = logic.run()  # blocking; the widget uses logic.start() and logic.finish(job)
        outputNode = logic.synthesize(inputNode, model="phantom-pgan-T1-T2")
        differenceNode, tableNode, metrics = logic.compare(outputNode, referenceNode)
    """

    def __init__(self, catalog=None) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        RunLogic.__init__(self, catalog=catalog)

    def getParameterNode(self):
        return MedSynthParameterNode(super().getParameterNode())

    def run(self, parameterNode=None, progress=None, cancel=None):
        """Everything the module's settings say, blocking: synthesize, compare, show."""
        return RunLogic.run(self, parameterNode or self.getParameterNode(), progress, cancel)

    def synthesize(self, inputNode, model: str = "", mapping: str = "", options=None, outputNode=None,
                   progress=None):
        """Run ``model`` (a catalog name or a model file; default: the mapping's default) on ``inputNode``
        and return the synthetic volume node, on the input's grid, next to the input."""
        from MedSynthLib.SynthesisLogic import SynthesisLogic

        model = model or self.catalog.choose(mapping or "T1->T2").key
        return SynthesisLogic().synthesize(inputNode, model, options, outputNode, progress)

    def compare(self, syntheticNode, referenceNode, differenceNode=None, tableNode=None, convention: str = "auto"):
        """Difference volume (shown over the synthetic one in the three views), metrics table, metrics."""
        from MedSynthLib.ComparisonLogic import ComparisonLogic

        return ComparisonLogic().compare(syntheticNode, referenceNode, differenceNode=differenceNode,
                                         tableNode=tableNode, convention=convention)


#
# MedSynthTest
#


class MedSynthTest(ScriptedLoadableModuleTest):
    """Runs in Slicer (Reload and Test, or ctest): the whole flow on the phantom sample. Skipped, with the
    reason, where MedSynth's packages are not installed (the extension build machines have no torch)."""

    def setUp(self):
        """Here, not in runTest: ctest (slicer_add_python_unittest) runs the test methods without runTest."""
        missing = MedSynthLogic().missingDependencies()
        if missing:
            self.skipTest(f"MedSynth's packages are not installed ({', '.join(missing)})")
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_SynthesizeAndCompareOnPhantom()

    def test_SynthesizeAndCompareOnPhantom(self):
        self.delayDisplay("Loading the MedSynthPhantom sample")
        import time

        import SampleData

        registerSampleData()  # registered at startup already; again here for a test run without startup (no-op)
        t1, t2, pd = SampleData.downloadSamples("MedSynthPhantom")
        self.assertEqual(t1.GetImageData().GetDimensions(), t2.GetImageData().GetDimensions())

        self.delayDisplay("Synthesizing T2 from T1 in this process and comparing with the real T2")
        logic = MedSynthLogic()
        parameters = logic.getParameterNode()
        parameters.inputVolume, parameters.referenceVolume, parameters.mapping = t1, t2, "T1->T2"
        parameters.device = "cpu"
        result = logic.run()
        output = parameters.outputVolume
        self.assertEqual(output.GetName(), "MedSynthPhantom-T1-synthetic-T2")
        self.assertEqual(output.GetImageData().GetDimensions(), t1.GetImageData().GetDimensions())
        self.assertGreater(result.metrics["mask"]["psnr"], 20.0)
        composite = slicer.app.layoutManager().sliceWidget("Red").sliceLogic().GetSliceCompositeNode()
        self.assertEqual(composite.GetForegroundVolumeID(), parameters.differenceVolume.GetID())

        self.delayDisplay("The GUI's route: the 3D model on PD in a background process, then a cancelled run")
        parameters.inputVolume, parameters.referenceVolume, parameters.mapping = pd, None, "PD->T2"
        parameters.model = ""
        job = logic.start(parameters)
        while job.poll() is State.RUNNING:
            slicer.app.processEvents()
            time.sleep(0.05)
        self.assertIs(job.state, State.SUCCEEDED, job.error)
        synthetic = logic.finish(job).parameters.outputVolume
        self.assertEqual(synthetic.GetName(), "MedSynthPhantom-PD-synthetic-T2")
        nodes = slicer.mrmlScene.GetNumberOfNodes()
        job = logic.start(parameters)
        job.cancel()
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodes(), nodes)
        logging.info("MedSynth self-test passed")
        self.delayDisplay("Test passed")
