"""The module files' widget code, run against a real scene with the fakes of fake_gui.py in place of Qt:
what a user's clicks do, from the model menu to the result in the scene, Cancel, Stop and Resume."""

from __future__ import annotations

import time

import pytest
import slicer
from medsynth.phantom import write_phantom_dataset
from MedSynthLib.SampleVolumes import loadSample

from .fake_gui import install, loadModule


def poll(widget, attribute: str, limit: float = 240) -> None:
    """The QTimer's work: poll until the background run is over."""
    deadline = time.time() + limit
    while getattr(widget, attribute) is not None:
        assert time.time() < deadline
        widget.onPoll()
        time.sleep(0.05)


@pytest.fixture
def gui(monkeypatch, tmp_path):
    return install(monkeypatch, tmp_path)


def test_medsynth_module_metadata(monkeypatch, gui):
    MedSynth = loadModule(monkeypatch, gui, "MedSynth")
    parent = type("Parent", (), {})()
    MedSynth.MedSynth(parent)
    assert parent.title == "MedSynth" and parent.categories == ["Filtering"]
    assert "Synthesize" in parent.helpText and "Nie et al." in parent.acknowledgementText


def test_synthesize_with_a_reference_then_cancel(monkeypatch, gui, scene, views):
    volumes = loadSample(scene=scene)
    MedSynth = loadModule(monkeypatch, gui, "MedSynth")
    widget = MedSynth.MedSynthWidget()
    widget.setup()
    ui, node = gui.ui, widget._parameterNode
    assert node.inputVolume is volumes["T1"]  # the first volume of the scene
    assert ("T1->T2", "T1->T2") in ui.mappingComboBox.items and ui.applyButton.text == "Synthesize T2"
    assert node.model == "phantom-pgan-T1-T2" and "Cite" in ui.modelCardBrowser.html

    ui.mappingComboBox.choose("PD->T2")  # another mapping: its default model and button label
    assert node.model == "phantom-nie-PD-T2" and "nie (patchwise)" in ui.modelCardBrowser.html
    node.mode = "slice"  # the Advanced section: a 3D model cannot run slice-wise
    assert node.model != "phantom-nie-PD-T2" and not ui.strideLineEdit.enabled
    node.mode = "auto"
    ui.mappingComboBox.choose("T1->T2")
    node.referenceVolume, node.device = volumes["T2"], "cpu"

    ui.applyButton.emit("clicked(bool)", False)
    assert widget.job is not None and ui.applyButton.text == "Cancel" and not ui.inputsCollapsibleButton.enabled
    poll(widget, "job")
    assert gui.errors == [] and ui.applyButton.text == "Synthesize T2" and ui.inputsCollapsibleButton.enabled
    assert node.outputVolume.GetName() == "MedSynthPhantom-T1-synthetic-T2" and "PSNR" in ui.metricsLabel.text
    red = views["Red"].GetSliceCompositeNode()
    assert red.GetForegroundVolumeID() == node.differenceVolume.GetID()
    assert red.GetCompositing() == slicer.vtkMRMLSliceCompositeNode.Add

    before = scene.GetNumberOfNodes()
    ui.applyButton.emit("clicked(bool)", False)  # start again, then Cancel at once
    process = widget.job.process
    ui.applyButton.emit("clicked(bool)", False)
    assert widget.job is None and process.poll() is not None and "Cancelled" in ui.statusLabel.text
    assert scene.GetNumberOfNodes() == before and ui.applyButton.text == "Synthesize T2"

    node.inputVolume = None
    assert not ui.applyButton.enabled
    widget.onApplyButton()  # what a script calling the slot would get: a named error, nothing started
    assert widget.job is None and "choose an input volume" in gui.errors[-1]
    widget.cleanup()


def test_train_stop_resume_and_add_the_model(monkeypatch, gui, scene, tmp_path):
    data = tmp_path / "data"
    write_phantom_dataset(data, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    loadModule(monkeypatch, gui, "MedSynth")  # MedSynthTrain depends on it
    MedSynthTrain = loadModule(monkeypatch, gui, "MedSynthTrain")
    widget = MedSynthTrain.MedSynthTrainWidget()
    widget.setup()
    ui, node = gui.ui, widget._parameterNode
    assert not ui.startButton.enabled  # no dataset or run folder yet
    ui.dataFolderPathLineEdit.emit("currentPathChanged(QString)", str(data))
    assert "4 subject(s)" in ui.datasetSummaryTextEdit.plainText and "T1->T2 (4)" in ui.datasetSummaryTextEdit.plainText
    ui.outputFolderPathLineEdit.emit("currentPathChanged(QString)", str(tmp_path / "run"))
    node.epochs, node.batchSize, node.device = 3, 2, "cpu"
    node.extraSettings = ("model.hyperparameters.ngf=4 model.hyperparameters.n_blocks=2 "
                          "model.hyperparameters.dense_blocks=1 model.discriminator_hyperparameters.ndf=4 "
                          "model.discriminator_hyperparameters.n_layers=2 data.size=48 optim.slices_per_epoch=8 "
                          "data.validation=0.25 data.test=0.25")

    ui.startButton.emit("clicked(bool)", False)
    assert widget.run is not None and ui.startButton.text == "Stop" and not ui.resumeButton.enabled
    deadline = time.time() + 120
    while not (tmp_path / "run" / "state.safetensors").is_file():  # Stop once the first epoch is kept
        assert time.time() < deadline
        widget.onPoll()
        time.sleep(0.05)
    ui.startButton.emit("clicked(bool)", False)
    assert widget.run is None and "Stopped" in ui.statusLabel.text and ui.resumeButton.enabled

    ui.resumeButton.emit("clicked(bool)", False)
    poll(widget, "run")
    assert gui.errors == [] and "Done" in ui.statusLabel.text and "epoch" in ui.logTextEdit.plainText
    assert node.historyTable.GetTable().GetNumberOfRows() == 3 and gui.charts[-1] is node.lossChart
    ui.chartComboBox.choose("metricChart")
    assert gui.charts[-1] is node.metricChart

    assert ui.registerButton.enabled
    ui.registerButton.emit("clicked(bool)", False)
    assert gui.errors == [] and "Added run (T1->T2)" in ui.statusLabel.text
    widget.cleanup()
