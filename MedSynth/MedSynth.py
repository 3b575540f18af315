"""MedSynth: synthesize an unacquired MRI contrast (or CT) from an acquired one, and compare it with a real one.

A thin Qt layer, in the five classes of Slicer's scripted-module template. Everything that can run without
Qt is in ``MedSynthLib`` (tested against a real MRML scene) and in the ``medsynth`` package (PyTorch); this
file only connects widgets to it. The model runs in a background process polled by a QTimer, so Slicer
never freezes, and the Synthesize button turns into Cancel while it runs.

``MedSynthLib`` needs torch and the packages listed in ``MedSynthLib/Dependencies.py``, which may not be
installed when Slicer starts: it is imported inside methods, after ``ensureDependencies()``.
"""

import logging
from typing import Annotated

import qt
import slicer
from MedSynthLib.Choices import AXES, DEVICES, MODES, PRECISIONS
from MedSynthLib.ParameterNodeWidget import ParameterNodeWidget
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

POLL_MS = 200


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
Synthesize an unacquired contrast or modality (T1w, T2w, PD, CT) from an acquired MRI volume with GAN
generators, and compare it with a real volume of the same subject.
<ol>
<li>Choose the input volume and the mapping (source -&gt; target); the default model of the mapping is
chosen, and its card (training data, test metrics, what to cite) is shown.</li>
<li>Optionally choose a real target-contrast volume as reference: a difference map (blue: too dark, red: too
bright) is added over the synthetic volume in the axial, sagittal and coronal views, and PSNR, SSIM and MAE
inside the head are reported and written to a table.</li>
<li>Click <b>Synthesize</b>. The model runs in a background process; click again to cancel.</li>
</ol>
Models: 2D pGAN with dense skips, 3D GAN with auto-context, and intensity-mapping baselines (the
papers are under Acknowledgments); add your own, trained with MedSynth Train or <code>medsynth train</code>.
Try it on the MedSynthPhantom sample (Sample Data module, MedSynth category).
""")
        self.parent.helpText += self.getDefaultModuleDocumentationLink()
        self.parent.acknowledgementText = _("""
Methods: S. U. H. Dar et al., Image synthesis in multi-contrast MRI with conditional generative adversarial
networks, IEEE Trans. Med. Imaging 38(10), 2019. M. U. Mirza, O. Dalmaç, T. Çukur, Skip connections for
medical image synthesis with generative adversarial networks, SIU 2022. D. Nie et al., Medical image synthesis
with deep convolutional adversarial networks, IEEE Trans. Biomed. Eng. 65(12), 2018.
PyTorch is provided by the SlicerPyTorch extension.
""")
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData():
    """The MedSynthPhantom sample (T1w, T2w, PD of one phantom subject) in the Sample Data module."""
    import SampleData
    from MedSynthLib.SampleVolumes import registerSampleData as register

    register(SampleData.SampleDataLogic)


def ensureDependencies() -> bool:
    """Install what MedSynth needs after one confirmation: torch through the PyTorch extension, the rest
    through pip. False if the user declines or an installation fails."""
    from MedSynthLib.Dependencies import installDependencies

    def confirm(missing):
        return slicer.util.confirmOkCancelDisplay(
            _("MedSynth needs these Python packages, which will now be installed (this can take minutes):")
            + "\n\n" + "\n".join(missing) + "\n\n" + _("PyTorch is installed by the PyTorch extension."),
            windowTitle=_("MedSynth: install dependencies"))

    def installTorch(requirement):
        import PyTorchUtils

        if PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=False, torchVersionRequirement=requirement):
            return True
        slicer.util.errorDisplay(_("PyTorch could not be installed; see the PyTorch module."))
        return False

    def pipInstall(requirements):
        if hasattr(slicer, "packaging") and hasattr(slicer.packaging, "pip_ensure"):  # Slicer >= 5.12
            from packaging.requirements import Requirement

            slicer.packaging.pip_ensure([Requirement(r) for r in requirements], prompt_install=False,
                                        requester="MedSynth")
        else:
            slicer.util.pip_install(" ".join(f'"{r}"' for r in requirements))

    with slicer.util.WaitCursor():
        return installDependencies(confirm, installTorch, pipInstall)


#
# MedSynthParameterNode
#


@parameterNodeWrapper
class MedSynthParameterNode:
    """The module's state; the same fields, names and encoding as ``MedSynthLib.Parameters.SynthesisParameters``
    (the Qt-free view scripts and tests use), so both read and write one node."""

    inputVolume: vtkMRMLScalarVolumeNode
    referenceVolume: vtkMRMLScalarVolumeNode
    mapping: str = "T1->T2"
    architecture: str = ""
    model: str = ""
    mode: Annotated[str, Choice(list(MODES))] = "auto"
    axis: Annotated[str, Choice(list(AXES))] = "auto"
    device: Annotated[str, Choice(list(DEVICES))] = "auto"
    precision: Annotated[str, Choice(list(PRECISIONS))] = "fp32"
    patchStride: str = ""
    outputVolume: vtkMRMLScalarVolumeNode
    differenceVolume: vtkMRMLScalarVolumeNode
    metricsTable: vtkMRMLTableNode


#
# MedSynthWidget
#


class MedSynthWidget(ParameterNodeWidget, ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self.catalog = None
        self.job = None  # the BackgroundSynthesis while one runs
        self._shownMode = None  # the mode the model lists were filtered for

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        self.setupModuleUi(MedSynthLogic())  # Resources/UI/MedSynth.ui

        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.addModelButton.connect("clicked(bool)", self.onAddModelButton)
        self.ui.mappingComboBox.connect("currentIndexChanged(int)", self.onMappingChanged)
        self.ui.architectureComboBox.connect("currentIndexChanged(int)", self.onArchitectureChanged)
        self.ui.modelComboBox.connect("currentIndexChanged(int)", self.onModelChanged)
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.connect("timeout()", self.onPoll)
        self.ui.progressBar.visible = False

        self.initializeParameterNode()
        self.refreshModels()

    def cleanup(self) -> None:
        self.timer.stop()
        if self.job is not None:
            self.job.cancel()
        self.removeObservers()

    def onSceneStartClose(self, caller, event) -> None:
        if self.job is not None:
            self.cancelJob(_("Cancelled: the scene was closed."))
        ParameterNodeWidget.onSceneStartClose(self, caller, event)

    def initializeParameterNode(self) -> None:
        ParameterNodeWidget.initializeParameterNode(self)
        if not self._parameterNode.inputVolume:
            firstVolumeNode = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolumeNode:
                self._parameterNode.inputVolume = firstVolumeNode

    # Models

    def refreshModels(self) -> None:
        """Fill mapping, architecture and model choices from the catalog (once dependencies are there)."""
        from MedSynthLib.Dependencies import missingRequirements

        if missingRequirements(includeTorch=True):
            self.ui.statusLabel.text = _("MedSynth's Python packages are not installed yet: click the button below.")
            self.updateGUIFromParameterNode()
            return
        from MedSynthLib.ModelCatalog import ModelCatalog

        self.catalog = self.catalog or ModelCatalog()
        node = self._parameterNode
        self._shownMode = node.mode
        with slicer.util.tryWithErrorDisplay(_("Could not read the model catalog."), waitCursor=True):
            menu = self.catalog.menu(node.mapping, node.architecture, node.mode, node.model)
            node.mapping, node.architecture, node.model = menu.mapping, menu.architecture, menu.model
            self.fillComboBox(self.ui.mappingComboBox, [(m, m) for m in menu.mappings], menu.mapping)
            architectures = [("", _("(default)"))] + [(a, a) for a in menu.architectures]
            self.fillComboBox(self.ui.architectureComboBox, architectures, menu.architecture)
            self.fillComboBox(self.ui.modelComboBox, [(c.key, c.label) for c in menu.models], menu.model)
            if self.catalog.problems:
                self.ui.statusLabel.text = "\n".join(self.catalog.problems)
        self.updateModelCard()
        self.updateGUIFromParameterNode()

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

    def updateModelCard(self) -> None:
        from MedSynthLib.ModelCatalog import cardHtml

        try:
            choice = self.currentParameters().chooseModel(self.catalog)
        except Exception as error:  # an incomplete choice: say why instead of showing a card
            self.ui.modelCardBrowser.setHtml(f"<i>{error}</i>")
            return
        self.ui.modelCardBrowser.setHtml(cardHtml(choice.card))

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
        self.updateModelCard()

    def onAddModelButton(self) -> None:
        path = qt.QFileDialog.getOpenFileName(self.parent, _("Add a MedSynth model"), "",
                                              _("MedSynth models (*.safetensors)"))
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("This file is not a usable MedSynth model."), waitCursor=True):
            choice = self.catalog.addModelFile(path)
            self._parameterNode.mapping, self._parameterNode.model = choice.card.mapping, str(choice.path)
            self._parameterNode.architecture = ""
            self.refreshModels()

    # State

    def currentParameters(self):
        from MedSynthLib.Parameters import SynthesisParameters

        return SynthesisParameters.read(self._parameterNode.parameterNode)

    def updateGUIFromParameterNode(self, caller=None, event=None) -> None:
        if self._parameterNode is None:
            return
        if self.catalog is not None and self._parameterNode.mode != self._shownMode:
            self._shownMode = self._parameterNode.mode  # slice or patch mode: other models fit
            self.refreshModels()
            return
        running = self.job is not None
        if running:
            self.ui.applyButton.text = _("Cancel")
            self.ui.applyButton.toolTip = _("Stop the synthesis; the scene is left as it was.")
            self.ui.applyButton.enabled = True
        elif self.catalog is None:
            self.ui.applyButton.text = _("Install dependencies...")
            self.ui.applyButton.toolTip = _("Install PyTorch (through the PyTorch extension) and MedSynth's packages.")
            self.ui.applyButton.enabled = True
        else:
            target = self._parameterNode.mapping.split("->")[-1]
            self.ui.applyButton.text = _("Synthesize {target}").format(target=target)
            self.ui.applyButton.toolTip = _("Run the model on the input volume (in the background).")
            self.ui.applyButton.enabled = bool(self._parameterNode.inputVolume and self._parameterNode.model)
        for widget in (self.ui.inputsCollapsibleButton, self.ui.advancedCollapsibleButton,
                       self.ui.outputsCollapsibleButton):
            widget.enabled = not running
        self.ui.strideLineEdit.enabled = self._parameterNode.mode != "slice"
        self.ui.axisComboBox.enabled = self._parameterNode.mode != "patch"

    # Running

    def onApplyButton(self) -> None:
        if self.job is not None:
            self.cancelJob(_("Cancelled: the scene is unchanged."))
            return
        if self.catalog is None:
            if ensureDependencies():
                self.refreshModels()
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to start the synthesis."), waitCursor=True):
            from MedSynthLib.BackgroundSynthesis import BackgroundSynthesis
            from MedSynthLib.RunLogic import readParameters

            parameters = readParameters(self._parameterNode.parameterNode)
            choice = parameters.chooseModel(self.catalog)
            self.job = BackgroundSynthesis(parameters.inputVolume, str(choice.path), parameters.inferenceOptions())
            self.job.start()
            self.ui.metricsLabel.text = ""
            self.ui.statusLabel.text = _("Running {model}...").format(model=choice.name)
            self.ui.progressBar.visible = True
            self.ui.progressBar.value = 0
            self.timer.start()
        self.updateGUIFromParameterNode()

    def onPoll(self) -> None:
        """Progress while the child runs; the result into the scene when it has succeeded."""
        from MedSynthLib.BackgroundSynthesis import State
        from MedSynthLib.RunLogic import completeRun, metricsHtml

        state = self.job.poll()
        done, total, message = self.job.progress
        self.ui.progressBar.maximum = max(total, 1)
        self.ui.progressBar.value = done
        self.ui.progressBar.format = f"{message} %p%" if message else "%p%"
        if state is State.RUNNING:
            return
        job, self.job = self.job, None
        self.timer.stop()
        self.ui.progressBar.visible = False
        if state is State.SUCCEEDED:
            with slicer.util.tryWithErrorDisplay(_("The synthetic volume could not be added."), waitCursor=True):
                outputNode = job.finish(self._parameterNode.outputVolume)
                result = completeRun(self._parameterNode.parameterNode, outputNode)
                slicer.util.resetSliceViews()
                self.ui.metricsLabel.text = metricsHtml(result.metrics)
                self.ui.statusLabel.text = _("Done: {name}").format(name=outputNode.GetName())
        else:
            job.cleanup()
            self.ui.statusLabel.text = _("Failed: {error}").format(error=job.error)
            slicer.util.errorDisplay(_("Synthesis failed: {error}").format(error=job.error))
        self.updateGUIFromParameterNode()

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


class MedSynthLogic(ScriptedLoadableModuleLogic):
    """The module's logic for the Python console and batch scripts (blocking calls; the GUI runs the same
    work in a background process). It delegates to ``MedSynthLib``, which also works without Slicer's GUI:

        logic = MedSynth.MedSynthLogic(); outputNode = logic.synthesize(inputNode, model="phantom-pgan-T1-T2")
        differenceNode, tableNode, metrics = logic.compare(outputNode, referenceNode)
    """

    def getParameterNode(self):
        return MedSynthParameterNode(super().getParameterNode())

    def synthesize(self, inputNode, model: str = "", mapping: str = "", options=None, outputNode=None,
                   progress=None):
        """Run ``model`` (a catalog name or a model file; default: the mapping's default) on ``inputNode``
        and return the synthetic volume node, on the input's grid, next to the input."""
        from MedSynthLib.ModelCatalog import ModelCatalog
        from MedSynthLib.SynthesisLogic import SynthesisLogic

        if not model:
            model = str(ModelCatalog().choose(mapping or "T1->T2").path)
        return SynthesisLogic().synthesize(inputNode, model, options, outputNode, progress)

    def compare(self, syntheticNode, referenceNode, differenceNode=None, tableNode=None):
        """Difference volume (shown over the synthetic one in the three views), metrics table, metrics."""
        from MedSynthLib.ComparisonLogic import ComparisonLogic

        return ComparisonLogic().compare(syntheticNode, referenceNode, differenceNode=differenceNode,
                                         tableNode=tableNode)

    def run(self):
        """Everything the module's settings say, blocking: synthesize, compare, show (see RunLogic)."""
        from MedSynthLib.RunLogic import runFromParameters

        return runFromParameters(self.getParameterNode().parameterNode)


#
# MedSynthTest
#


class MedSynthTest(ScriptedLoadableModuleTest):
    """Runs in Slicer (Reload and Test, or ctest): the whole flow on the phantom sample."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_SynthesizeAndCompareOnPhantom()

    def test_SynthesizeAndCompareOnPhantom(self):
        self.delayDisplay("Loading the MedSynthPhantom sample")
        import SampleData

        registerSampleData()
        t1, t2, pd = SampleData.downloadSamples("MedSynthPhantom")
        self.assertEqual(t1.GetImageData().GetDimensions(), t2.GetImageData().GetDimensions())

        self.delayDisplay("Synthesizing T2 from T1 and comparing with the real T2")
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

        self.delayDisplay("Background run of the 3D model on PD, then cancel of a second run")
        from MedSynthLib.BackgroundSynthesis import BackgroundSynthesis

        job = BackgroundSynthesis(pd, "phantom-nie-PD-T2")
        synthetic = job.run(progress=lambda done, total, message: slicer.app.processEvents())
        self.assertEqual(synthetic.GetName(), "MedSynthPhantom-PD-synthetic-T2")
        nodes = slicer.mrmlScene.GetNumberOfNodes()
        job = BackgroundSynthesis(pd, "phantom-nie-PD-T2")
        job.start()
        job.cancel()
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodes(), nodes)
        logging.info("MedSynth self-test passed")
        self.delayDisplay("Test passed")
