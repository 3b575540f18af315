"""The module files' widgets, driven with a mock of their logic (the widget's only door), then once end to end
with the real logic: what a user's clicks do, leaving the module while a run goes on, scenes closed and
loaded, Cancel, Stop and Resume, and an old Slicer."""

from __future__ import annotations

import html
import time
import types
from unittest import mock

import pytest
import slicer
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
from MedSynthLib.RunLogic import ModelMenuState, RunResult
from MedSynthLib.SampleVolumes import loadSample

from .gui_mocks import emit, install, loadModule


@pytest.fixture
def gui(monkeypatch, tmp_path):
    return install(monkeypatch, tmp_path)


def choice(key: str, mapping: str = "T1->T2"):
    return types.SimpleNamespace(key=key, name=key, label=key, card=types.SimpleNamespace(mapping=mapping))


class FakeJob:
    def __init__(self, parameterNode) -> None:
        self.parameterNode, self.modelName, self.state = parameterNode, "model-a", State.RUNNING
        self.progress, self.error, self.cancelled = (3, 10, "slices"), "", False

    def poll(self):
        return self.state

    def cancel(self) -> None:
        self.cancelled = True


class MockSynthesisLogic:
    """A ``SynthesisLogicProtocol`` that records calls: two models per mapping, jobs that end when told."""

    def __init__(self, missing=()) -> None:
        self.missing, self.calls, self.jobs = list(missing), [], []

    def getParameterNode(self):
        import MedSynth

        return MedSynth.MedSynthParameterNode(getParameterNode(slicer.mrmlScene))

    def missingDependencies(self):
        return self.missing

    def installDependencies(self, confirm):
        self.calls.append("install")
        self.missing = []
        return True

    def modelMenu(self, parameterNode):
        self.calls.append(("menu", parameterNode.mapping))
        models = [choice(f"{parameterNode.mapping}-a", parameterNode.mapping),
                  choice(f"{parameterNode.mapping}-b", parameterNode.mapping)]
        if parameterNode.model not in [m.key for m in models]:
            parameterNode.model = models[0].key
        menu = types.SimpleNamespace(mappings=["PD->T2", "T1->T2", "T1+T2->FLAIR"], mapping=parameterNode.mapping,
                                     architectures=["pgan"], architecture=parameterNode.architecture, models=models,
                                     model=parameterNode.model)
        return ModelMenuState(menu, [])

    def modelCardHtml(self, parameterNode):
        return f"card of {parameterNode.model}"

    def refreshModels(self):
        self.calls.append("refresh")

    def addModelFile(self, parameterNode, path):
        self.calls.append(("add", path))

    def releaseStaleOutputs(self, parameterNode):
        pass

    def start(self, parameterNode):
        self.calls.append(("start", parameterNode.parameterNode))
        self.jobs.append(FakeJob(parameterNode.parameterNode))
        return self.jobs[-1]

    def finish(self, job):
        self.calls.append(("finish", job.parameterNode))
        output = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1-synthetic-T2")
        return RunResult(SynthesisParameters(outputVolume=output), {"mask": {"psnr": 30.0}})

    def metricsHtml(self, result):
        return f"PSNR {result.metrics['mask']['psnr']}"


def medsynthWidget(monkeypatch, gui, logic):
    MedSynth = loadModule(monkeypatch, gui, "MedSynth")
    widget = MedSynth.MedSynthWidget(logic=logic)
    widget.setup()
    return widget


def test_the_widget_runs_through_its_logic_also_after_leaving_the_module(monkeypatch, gui, scene):
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    logic = MockSynthesisLogic()
    widget = medsynthWidget(monkeypatch, gui, logic)
    ui, node = gui.ui, widget._parameterNode
    assert [d for _, d in ui.modelComboBox.items] == ["T1->T2-a", "T1->T2-b"] and ui.applyButton.text == "Synthesize T2"
    assert ui.modelCardBrowser.setHtml.call_args.args == ("card of T1->T2-a",)
    ui.modelComboBox.choose("T1->T2-b")
    assert node.model == "T1->T2-b" and ui.modelCardBrowser.setHtml.call_args.args == ("card of T1->T2-b",)

    emit(ui.applyButton, "clicked(bool)", False)
    assert logic.calls[-1] == ("start", node.parameterNode) and ui.applyButton.text == "Cancel"
    assert widget.timer.active and ui.inputsCollapsibleButton.enabled is False

    widget.exit()  # the user opens another module while the run goes on
    logic.jobs[-1].state = State.SUCCEEDED
    widget.onPoll()  # the timer keeps polling
    assert logic.calls[-1] == ("finish", node.parameterNode) and gui.errors == []
    assert ui.metricsLabel.text == "PSNR 30.0" and ui.statusLabel.text == "Done: T1-synthetic-T2"
    assert not widget.timer.active and widget.job is None

    widget.enter()
    emit(ui.applyButton, "clicked(bool)", False)
    emit(ui.applyButton, "clicked(bool)", False)  # Cancel at once
    assert logic.jobs[-1].cancelled and widget.job is None and "Cancelled" in ui.statusLabel.text

    emit(ui.applyButton, "clicked(bool)", False)
    logic.jobs[-1].state, logic.jobs[-1].error = State.FAILED, "out of memory"
    widget.onPoll()
    assert logic.jobs[-1].cancelled and gui.errors == ["Synthesis failed: out of memory"]  # temporary files gone
    widget.cleanup()


def test_a_many_to_one_model_gets_one_labelled_selector_per_input(monkeypatch, gui, scene):
    t1 = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    widget = medsynthWidget(monkeypatch, gui, MockSynthesisLogic())
    ui, node = gui.ui, widget._parameterNode
    assert ui.secondInputSelector.visible is False and ui.thirdInputLabel.visible is False  # one-to-one
    ui.mappingComboBox.choose("T1+T2->FLAIR")
    node.inputVolume = t1
    widget.updateGUIFromParameterNode()
    assert ui.inputLabel.text == "Input volume (T1):" and ui.secondInputLabel.text == "Input 2 (T2):"
    assert ui.secondInputSelector.visible is True and ui.thirdInputSelector.visible is False
    assert ui.applyButton.text == "Synthesize FLAIR" and ui.applyButton.enabled is False  # T2 not chosen yet
    node.secondInputVolume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T2")
    widget.updateGUIFromParameterNode()
    assert ui.applyButton.enabled is True
    widget.cleanup()  # Slicer closes: the widget lets go of the models-changed signal


def test_the_model_menu_follows_a_scene_that_was_closed_or_loaded(monkeypatch, gui, scene):
    logic = MockSynthesisLogic()
    widget = medsynthWidget(monkeypatch, gui, logic)
    ui = gui.ui
    assert ui.mappingComboBox.currentData == "T1->T2"
    widget.onSceneStartClose(None, None)
    scene.Clear(False)
    node = getParameterNode(scene)  # the loaded scene's settings: another mapping and model
    SynthesisParameters(mapping="PD->T2", model="PD->T2-b").write(node)
    widget.onSceneEndClose(None, None)
    assert ui.mappingComboBox.currentData == "PD->T2" and ui.modelComboBox.currentData == "PD->T2-b"
    assert ui.applyButton.text == "Synthesize T2"
    node.SetParameter("model", "PD->T2-a")  # a script changes the choice: the combo box follows
    assert ui.modelComboBox.currentData == "PD->T2-a"
    widget.cleanup()


def test_without_dependencies_the_button_installs_them(monkeypatch, gui, scene):
    logic = MockSynthesisLogic(missing=["torch>=2.8"])
    widget = medsynthWidget(monkeypatch, gui, logic)
    ui = gui.ui
    assert ui.applyButton.text == "Install dependencies..." and ui.modelComboBox.items == []
    emit(ui.applyButton, "clicked(bool)", False)
    assert "install" in logic.calls and ui.applyButton.text == "Synthesize T2" and ui.modelComboBox.items
    widget.cleanup()


@pytest.mark.parametrize("module", ["MedSynth", "MedSynthTrain"])
def test_an_old_slicer_gets_one_clear_message(monkeypatch, gui, scene, module):
    import MedSynthLib.ParameterNodeWidget as ParameterNodeWidget
    from MedSynthLib.SlicerVersion import unsupportedMessage

    message = unsupportedMessage((3, 9, 10))
    assert "3D Slicer 5.10 or newer" in message and "Python 3.9.10" in message and unsupportedMessage() is None
    monkeypatch.setattr(ParameterNodeWidget, "unsupportedMessage", lambda: message)
    loadModule(monkeypatch, gui, "MedSynth")
    moduleFile = loadModule(monkeypatch, gui, module)
    widget = getattr(moduleFile, f"{module}Widget")(logic=mock.Mock())
    widget.setup()
    import qt

    assert qt.QLabel.call_args.args == (message,) and widget.layout.addWidget.called
    assert widget.logic.method_calls == [] and widget._parameterNode is None  # nothing else was set up


class MockTrainingLogic:
    def __init__(self) -> None:
        self.calls, self.epochs = [], 0

    def getParameterNode(self):
        import MedSynthTrain

        return MedSynthTrain.MedSynthTrainParameterNode(getParameterNode(slicer.mrmlScene, "MedSynthTrain"))

    def missingDependencies(self):
        return []

    def installDependencies(self, confirm):
        return True

    def canResume(self, parameterNode):
        return self.epochs > 0

    def hasTrainedModel(self, parameterNode):
        return self.epochs > 0

    def start(self, parameterNode):
        process = mock.Mock(runFolder="run", messages=["epoch 1"], error="", job=mock.Mock(progress=(1, 2, "e")))
        process.poll.return_value = State.RUNNING
        process.fraction.return_value = 0.5
        self.job = types.SimpleNamespace(parameterNode=parameterNode.parameterNode, process=process, runFolder="run")
        self.calls.append(("start", parameterNode.parameterNode))
        return self.job

    resume = start

    def showEpochs(self, job):
        self.calls.append(("epochs", job.parameterNode))
        self.epochs += 1
        return True

    def registerModel(self, parameterNode):
        return choice("run")


def test_training_goes_on_after_leaving_the_module_and_the_path_box_is_debounced(monkeypatch, gui, scene, tmp_path):
    loadModule(monkeypatch, gui, "MedSynth")
    MedSynthTrain = loadModule(monkeypatch, gui, "MedSynthTrain")
    logic = MockTrainingLogic()
    widget = MedSynthTrain.MedSynthTrainWidget(logic=logic)
    widget.setup()
    ui, node = gui.ui, widget._parameterNode
    started = []
    monkeypatch.setattr(widget.datasetCheck, "start", lambda *args: started.append(args))
    for prefix in ("/", "/tm", str(tmp_path)):  # typed key by key: nothing is scanned yet
        emit(ui.dataFolderPathLineEdit, "currentPathChanged(QString)", prefix)
    assert started == [] and widget.datasetTimer.active and node.dataFolder == str(tmp_path)
    widget.datasetTimer.fire()  # typing paused
    assert started == [(str(tmp_path), "", "T1", "T2", False, "")] and widget.datasetPollTimer.active
    assert ui.targetFolderPathLineEdit.visible is False  # a paired architecture: one folder
    node.architecture, node.targetFolder = "cyclegan", str(tmp_path)
    widget.updateGUIFromParameterNode()
    assert ui.targetFolderPathLineEdit.visible is True and widget.datasetTimer.active  # the summary is redone
    widget.datasetTimer.fire()
    assert started[-1] == (str(tmp_path), "", "T1", "T2", True, str(tmp_path))
    node.architecture = "pgan"
    widget.updateGUIFromParameterNode()

    emit(ui.outputFolderPathLineEdit, "currentPathChanged(QString)", str(tmp_path / "run"))
    emit(ui.startButton, "clicked(bool)", False)
    assert logic.calls[-1] == ("start", node.parameterNode) and ui.startButton.text == "Stop"
    widget.exit()  # another module: the epochs still reach the run's own node
    widget.onPoll()
    assert logic.calls[-1] == ("epochs", node.parameterNode) and "epoch 1" in str(ui.logTextEdit.mock_calls)
    logic.job.process.poll.return_value = State.SUCCEEDED
    widget.onPoll()
    assert widget.run is None and ui.statusLabel.text.startswith("Done") and gui.errors == []
    widget.enter()
    emit(ui.registerButton, "clicked(bool)", False)
    assert gui.errors == [] and ui.statusLabel.text == "Added run (T1->T2) to MedSynth's models."

    emit(ui.startButton, "clicked(bool)", False)
    widget.cleanup()  # Slicer closes: the run is stopped, as by Stop, so Resume continues it later
    assert logic.job.process.stop.called and widget.run is None


def poll(widget, attribute: str, limit: float = 240) -> None:
    """The QTimer's work: poll until the background run is over."""
    deadline = time.time() + limit
    while getattr(widget, attribute) is not None:
        assert time.time() < deadline
        widget.onPoll()
        time.sleep(0.05)


@pytest.mark.torch
def test_a_real_run_finishes_into_the_scene_after_leaving_the_module(monkeypatch, gui, scene, views):
    volumes = loadSample(scene=scene)
    MedSynth = loadModule(monkeypatch, gui, "MedSynth")
    widget = MedSynth.MedSynthWidget()
    widget.setup()
    ui, node = gui.ui, widget._parameterNode
    assert node.inputVolume is volumes["T1"] and node.model.startswith("real-")  # real-data models first
    node.referenceVolume, node.device, node.model = volumes["T2"], "cpu", "phantom-jointhist-T1-T2"
    emit(ui.applyButton, "clicked(bool)", False)
    workdir = widget.job.process.workdir
    widget.exit()
    poll(widget, "job")
    assert gui.errors == [] and not workdir.exists()
    assert node.outputVolume.GetName() == "MedSynthPhantom-T1-synthetic-T2" and "PSNR" in ui.metricsLabel.text
    assert views["Red"].GetSliceCompositeNode().GetForegroundVolumeID() == node.differenceVolume.GetID()
    widget.cleanup()


@pytest.mark.torch
def test_a_real_training_run_stops_resumes_and_its_model_reaches_medsynth(monkeypatch, gui, scene, tmp_path):
    from medsynth.phantom import write_phantom_dataset

    data = tmp_path / "data"
    write_phantom_dataset(data, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    MedSynth = loadModule(monkeypatch, gui, "MedSynth")
    medsynthWidget = MedSynth.MedSynthWidget()
    medsynthWidget.setup()  # open with its menu: it must offer the new model once added
    medsynthUi = gui.ui
    MedSynthTrain = loadModule(monkeypatch, gui, "MedSynthTrain")
    widget = MedSynthTrain.MedSynthTrainWidget()
    widget.setup()
    ui, node = gui.ui, widget._parameterNode
    emit(ui.dataFolderPathLineEdit, "currentPathChanged(QString)", str(data))
    widget.datasetTimer.fire()
    text = None
    deadline = time.time() + 30
    while text is None and time.time() < deadline:
        widget.onDatasetPoll()
        text = None if widget.datasetPollTimer.active else ui.datasetSummaryTextEdit.plainText
        time.sleep(0.02)
    assert "4 subject(s)" in text and "T1->T2 (4)" in text
    emit(ui.outputFolderPathLineEdit, "currentPathChanged(QString)", str(tmp_path / "run"))
    node.epochs, node.batchSize, node.device = 3, 2, "cpu"
    node.extraSettings = ("model.hyperparameters.ngf=4 model.hyperparameters.n_blocks=2 "
                          "model.hyperparameters.dense_blocks=1 model.discriminator_hyperparameters.ndf=4 "
                          "model.discriminator_hyperparameters.n_layers=2 data.size=48 optim.slices_per_epoch=8 "
                          "data.validation=0.25 data.test=0.25")
    emit(ui.startButton, "clicked(bool)", False)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "state.safetensors").is_file():  # Stop once the first epoch is kept
        assert time.time() < deadline
        widget.onPoll()
        time.sleep(0.05)
    emit(ui.startButton, "clicked(bool)", False)
    assert widget.run is None and "Stopped" in ui.statusLabel.text and ui.resumeButton.enabled is True

    emit(ui.resumeButton, "clicked(bool)", False)
    widget.exit()  # in another module while it trains: the curves still grow
    poll(widget, "run")
    assert gui.errors == [] and "Done" in ui.statusLabel.text
    assert node.historyTable.GetTable().GetNumberOfRows() == 3 and gui.charts[-1] is node.lossChart
    widget.enter()
    ui.chartComboBox.choose("metricChart")
    assert gui.charts[-1] is node.metricChart
    widget.exit()
    emit(ui.registerButton, "clicked(bool)", False)
    assert gui.errors == [] and "Added run (T1->T2)" in ui.statusLabel.text
    model = str((tmp_path / "run" / "model.safetensors").resolve())
    assert model in [data for _, data in medsynthUi.modelComboBox.items]  # MedSynth's open menu offers it
    widget.cleanup()
    medsynthWidget.cleanup()


@pytest.mark.parametrize("module", ["MedSynth", "MedSynthTrain"])
def test_self_tests_skip_where_the_packages_are_missing(monkeypatch, gui, scene, module):
    """The extension build machines have no torch: the self-test is skipped with the reason, not failed."""
    import unittest

    import MedSynthLib.Dependencies as Dependencies

    loadModule(monkeypatch, gui, "MedSynth")
    moduleFile = loadModule(monkeypatch, gui, module)
    monkeypatch.setattr(Dependencies, "missingRequirements", lambda includeTorch=True: ["torch>=2.8"])
    with pytest.raises(unittest.SkipTest, match=r"not installed \(torch>=2.8\)"):
        getattr(moduleFile, f"{module}Test")().runTest()


def test_the_help_lists_every_architecture_and_paper_of_the_registry(monkeypatch, gui):
    from medsynth.core.architectures import architectures

    moduleFile = loadModule(monkeypatch, gui, "MedSynth")
    parent = types.SimpleNamespace()
    moduleFile.MedSynth(parent)
    for arch in architectures():
        if arch.role != "discriminator":
            assert f"<b>{arch.name}</b>" in parent.helpText  # generated: a new architecture appears by itself
        for paper in arch.citations:
            assert html.escape(paper) in parent.acknowledgementText
