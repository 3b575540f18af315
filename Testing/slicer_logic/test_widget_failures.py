"""The panels after a failure, with Slicer's real error handling (``tryWithErrorDisplay`` shows the error and
raises it again): every failure leaves the panel idle and saying what happened, and no slot or observer lets
an exception escape into Slicer's console. Also: shared dependency readiness, an old Slicer's enter/exit, the
self-tests as ctest loads them, and the proposed input."""

from __future__ import annotations

import types
import unittest
from unittest import mock

import pytest
import slicer
from medsynth.core.errors import InputError
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.RunLogic import ComparisonError

from .gui_mocks import emit, install, loadModule
from .test_module_widgets import MockSynthesisLogic, MockTrainingLogic, medsynthWidget


@pytest.fixture
def gui(monkeypatch, tmp_path):
    return install(monkeypatch, tmp_path)


def assertIdle(widget, ui) -> None:
    assert widget.job is None and not widget.timer.active and ui.progressBar.visible is False
    assert ui.applyButton.text == "Synthesize T2" and ui.applyButton.enabled is True
    for section in (ui.inputsCollapsibleButton, ui.advancedCollapsibleButton, ui.outputsCollapsibleButton):
        assert section.enabled is True


class FailingFinish(MockSynthesisLogic):
    def finish(self, job):
        self.calls.append(("finish", job.parameterNode))
        raise ComparisonError("'T1-synthetic-T2' was synthesized and is kept, but comparing it with 'T2' failed: the "
                              "two volumes do not overlap in the world (check their transforms)")


def test_a_failed_finish_leaves_the_panel_idle_and_names_the_kept_volume(monkeypatch, gui, scene):
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    logic = FailingFinish()
    widget = medsynthWidget(monkeypatch, gui, logic)
    ui = gui.ui
    emit(ui.applyButton, "clicked(bool)", False)
    assert ui.applyButton.text == "Cancel"
    logic.jobs[-1].state = State.SUCCEEDED
    widget.timer.fire()  # the poll finds the job done; finishing it fails
    assertIdle(widget, ui)
    assert len(gui.errors) == 1 and "do not overlap" in gui.errors[0]  # the dialog
    assert ui.statusLabel.text.startswith("Failed: 'T1-synthetic-T2' was synthesized and is kept")
    emit(ui.applyButton, "clicked(bool)", False)  # the button starts a new run, it does not "cancel"
    assert logic.calls[-1][0] == "start" and not logic.jobs[-2].cancelled
    widget.cleanup()


def test_a_refused_start_leaves_the_panel_idle(monkeypatch, gui, scene):
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    logic = MockSynthesisLogic()

    def refuse(parameterNode):
        raise InputError("the reference must be a real target-contrast volume, not an input")

    logic.start = refuse
    widget = medsynthWidget(monkeypatch, gui, logic)
    ui = gui.ui
    emit(ui.applyButton, "clicked(bool)", False)
    assertIdle(widget, ui)
    assert ui.statusLabel.text == "Not started: the reference must be a real target-contrast volume, not an input"
    assert gui.errors == ["Failed to start the synthesis. the reference must be a real target-contrast volume, not "
                          "an input"]
    widget.cleanup()


def test_an_unreadable_catalog_or_model_file_is_reported_not_raised(monkeypatch, gui, scene):
    logic = MockSynthesisLogic()
    logic.modelMenu = mock.Mock(side_effect=OSError("catalog.json: permission denied"))
    widget = medsynthWidget(monkeypatch, gui, logic)  # setup() completes
    ui = gui.ui
    assert ui.statusLabel.text == "Could not read the model catalog: catalog.json: permission denied"
    assert widget.modelsReady is False and len(gui.errors) == 1
    widget.updateGUIFromParameterNode()  # the observer does not retry in a loop
    assert logic.modelMenu.call_count == 1

    logic = MockSynthesisLogic()
    logic.addModelFile = mock.Mock(side_effect=InputError("x.safetensors: not a MedSynth model"))
    widget = medsynthWidget(monkeypatch, gui, logic)
    import qt

    monkeypatch.setattr(qt.QFileDialog, "getOpenFileName", lambda *args: "x.safetensors")
    emit(gui.ui.addModelButton, "clicked(bool)", False)
    assert gui.ui.statusLabel.text == "Not added: x.safetensors: not a MedSynth model"
    widget.cleanup()


def test_typing_a_patch_stride_never_raises_and_marks_what_is_no_stride_yet(monkeypatch, gui, scene):
    """The stride field writes every keystroke into the node ("f", "fu", ... on the way to "full")."""
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    widget = medsynthWidget(monkeypatch, gui, MockSynthesisLogic())
    ui, node = gui.ui, widget._parameterNode
    for typed in ("f", "fu", "ful", "full", "", "1", "16", "16x"):
        node.patchStride = typed  # what the line edit's connector does on textChanged
        ui.mappingComboBox.choose("PD->T2" if ui.mappingComboBox.currentData == "T1->T2" else "T1->T2")
        valid = typed in ("full", "", "1", "16")
        assert ui.applyButton.enabled is valid, typed
        assert ui.strideLineEdit.styleSheet == ("" if valid else "QLineEdit { color: #c00000; }")
    assert ui.applyButton.toolTip.endswith("or 'full', got '16x'")
    assert gui.errors == []
    widget.cleanup()


def test_an_observer_that_fails_says_so_instead_of_raising(monkeypatch, gui, scene):
    widget = medsynthWidget(monkeypatch, gui, MockSynthesisLogic())
    monkeypatch.setattr(widget, "showInputSelectors", mock.Mock(side_effect=RuntimeError("boom")))
    widget.updateGUIFromParameterNode()
    assert gui.ui.statusLabel.text == "Could not show the settings: boom"
    widget.cleanup()


def test_dependencies_installed_from_one_module_are_seen_by_the_other(monkeypatch, gui, scene):
    import MedSynthLib.Dependencies as Dependencies

    missing = ["torch>=2.8"]
    monkeypatch.setattr(Dependencies, "installDependencies", lambda *args: missing.clear() or True)
    synthesisLogic, trainingLogic = MockSynthesisLogic(), MockTrainingLogic()
    synthesisLogic.missingDependencies = trainingLogic.missingDependencies = lambda: list(missing)
    trainingLogic.installDependencies = Dependencies.ensureDependencies  # the real route, with its signal
    medsynth = medsynthWidget(monkeypatch, gui, synthesisLogic)
    medsynthUi = gui.ui
    assert medsynthUi.applyButton.text == "Install dependencies..."
    MedSynthTrain = loadModule(monkeypatch, gui, "MedSynthTrain")
    train = MedSynthTrain.MedSynthTrainWidget(logic=trainingLogic)
    train.setup()
    assert gui.ui.startButton.text == "Install dependencies..."
    emit(gui.ui.startButton, "clicked(bool)", False)  # installed from MedSynth Train
    assert gui.ui.startButton.text == "Start training"
    assert medsynthUi.applyButton.text == "Synthesize T2" and medsynthUi.modelComboBox.items  # MedSynth follows

    missing.append("nibabel>=5")  # removed outside Slicer; then installed again outside: each enter checks
    train.enter()
    assert gui.ui.startButton.text == "Install dependencies..."
    missing.clear()
    train.enter()
    assert gui.ui.startButton.text == "Start training"
    train.cleanup()
    medsynth.cleanup()


def test_entering_the_module_refreshes_a_missing_menu(monkeypatch, gui, scene):
    logic = MockSynthesisLogic(missing=["torch>=2.8"])
    widget = medsynthWidget(monkeypatch, gui, logic)
    assert gui.ui.applyButton.text == "Install dependencies..."
    logic.missing = []  # installed by a pip outside the module
    widget.exit()
    widget.enter()
    assert gui.ui.applyButton.text == "Synthesize T2" and gui.ui.modelComboBox.items
    widget.cleanup()


@pytest.mark.parametrize("module", ["MedSynth", "MedSynthTrain"])
def test_on_an_old_slicer_enter_exit_and_cleanup_do_nothing(monkeypatch, gui, scene, module):
    import MedSynthLib.ParameterNodeWidget as ParameterNodeWidget

    monkeypatch.setattr(ParameterNodeWidget, "unsupportedMessage", lambda: "MedSynth needs 3D Slicer 5.10 or newer")
    loadModule(monkeypatch, gui, "MedSynth")
    moduleFile = loadModule(monkeypatch, gui, module)
    widget = getattr(moduleFile, f"{module}Widget")()  # no logic: as Slicer creates it
    widget.setup()
    assert widget.logic is None and widget.supported is False
    widget.enter()
    widget.exit()
    widget.onSceneEndClose(None, None)
    widget.cleanup()


@pytest.mark.parametrize("module", ["MedSynth", "MedSynthTrain"])
def test_self_tests_skip_as_ctest_loads_them(monkeypatch, gui, scene, module):
    """``slicer_add_python_unittest`` runs ``unittest.TestLoader().loadTestsFromName(module)``: the test methods
    themselves, never ``runTest``. Without MedSynth's packages each is skipped, with the reason."""
    import MedSynthLib.Dependencies as Dependencies

    loadModule(monkeypatch, gui, "MedSynth")
    loadModule(monkeypatch, gui, module)
    monkeypatch.setattr(Dependencies, "missingRequirements", lambda includeTorch=True: ["torch>=2.8"])
    monkeypatch.setattr(slicer, "mrmlScene", scene, raising=False)
    suite = unittest.TestLoader().loadTestsFromName(module)
    result = unittest.TestResult()
    suite.run(result)
    assert result.testsRun >= 1 and len(result.skipped) == result.testsRun
    assert not result.errors and not result.failures
    assert all("not installed (torch>=2.8)" in reason for _, reason in result.skipped)


def test_the_sample_is_registered_once(monkeypatch):
    from MedSynthLib.SampleVolumes import registerSampleData

    sources: dict[str, list] = {}

    class SampleDataLogic:  # as Slicer's: a list per category in slicer.modules.sampleDataSources
        @staticmethod
        def registerCustomSampleDataSource(category="Custom", sampleName=None, **kwargs):
            sources.setdefault(category, []).append(types.SimpleNamespace(sampleName=sampleName, **kwargs))

    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(sampleDataSources=sources), raising=False)
    registerSampleData(SampleDataLogic)
    registerSampleData(SampleDataLogic)  # at startup, then by the self-test: no second entry
    assert [s.sampleName for s in sources["MedSynth"]] == ["MedSynthPhantom"]


def test_the_uncertainty_method_is_offered_only_with_an_uncertainty_map(monkeypatch, gui, scene):
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    widget = medsynthWidget(monkeypatch, gui, MockSynthesisLogic())
    ui, node = gui.ui, widget._parameterNode
    assert node.uncertaintyMethod == "auto"  # the command's default: the card's error model where it has one
    for wanted in (False, True, False):
        node.uncertainty = wanted  # what the check box's connector does
        widget.updateGUIFromParameterNode()
        assert ui.uncertaintyMethodComboBox.enabled is wanted
    widget.cleanup()
