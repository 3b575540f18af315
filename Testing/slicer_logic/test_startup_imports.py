"""What opening the modules loads into Slicer's process, checked in a fresh interpreter: before MedSynth's
packages are installed both panels open and offer to install them; once installed, opening MedSynth (model
menu and card included) and a whole GUI run still import no torch into Slicer's process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PIP_PACKAGES = ("torch", "monai", "nibabel", "safetensors", "tqdm", "matplotlib", "yaml")  # not in Slicer

PRELUDE = f"""
import json, sys, time, tempfile
from pathlib import Path
sys.path[:0] = [{str(HERE.parents[1] / "MedSynth")!r}, {str(HERE.parents[1] / "MedSynthTrain")!r}, {str(HERE)!r}]
import pytest, slicer
from gui_mocks import emit, install, loadModule
patch = pytest.MonkeyPatch()
gui = install(patch, Path(tempfile.mkdtemp()))
scene = slicer.vtkMRMLScene()
slicer.mrmlScene = scene
"""


def run(script: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_both_modules_open_before_the_dependencies_are_installed():
    result = run(f"""
        class NotInstalled:  # what a fresh Slicer has: none of the pip packages
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {PIP_PACKAGES!r}:
                    raise ModuleNotFoundError(f"No module named '{{name}}'")
        sys.meta_path.insert(0, NotInstalled())
        import MedSynthLib.Dependencies as Dependencies
        real = Dependencies.installedVersion
        patch.setattr(Dependencies, "installedVersion",
                      lambda name: None if name.lower() in {PIP_PACKAGES!r} + ("pyyaml",) else real(name))
        MedSynth = loadModule(patch, gui, "MedSynth")
        widget = MedSynth.MedSynthWidget(); widget.setup()
        medsynth = (gui.ui.applyButton.text, widget.modelsReady)
        MedSynthTrain = loadModule(patch, gui, "MedSynthTrain")
        train = MedSynthTrain.MedSynthTrainWidget(); train.setup()
        emit(gui.ui.dataFolderPathLineEdit, "currentPathChanged(QString)", "/")
        train.datasetTimer.fire()
        loaded = [m for m in {PIP_PACKAGES!r} if m in sys.modules]
        summary, start = gui.ui.datasetSummaryTextEdit.plainText, gui.ui.startButton.text
        print(json.dumps({{"medsynth": medsynth, "errors": gui.errors, "summary": summary, "loaded": loaded,
                          "start": start}}))
    """)
    assert result["medsynth"] == ["Install dependencies...", False] and result["errors"] == []
    assert "Install MedSynth's packages first" in result["summary"] and result["loaded"] == []
    assert result["start"] == "Install dependencies..."  # MedSynth Train offers the same install flow


@pytest.mark.torch
def test_opening_medsynth_and_a_gui_run_import_no_torch_into_slicers_process():
    result = run("""
        from MedSynthLib.SampleVolumes import loadSample
        volumes = loadSample(scene=scene)
        MedSynth = loadModule(patch, gui, "MedSynth")
        widget = MedSynth.MedSynthWidget(); widget.setup()
        opened = {"ready": widget.modelsReady, "card": "Cite" in str(gui.ui.modelCardBrowser.setHtml.call_args),
                  "torch": "torch" in sys.modules, "cli": "medsynth.cli" in sys.modules}
        node = widget._parameterNode
        node.referenceVolume, node.device, node.model = volumes["T2"], "cpu", "phantom-jointhist-T1-T2"
        emit(gui.ui.applyButton, "clicked(bool)", False)
        while widget.job is not None:
            widget.onPoll(); time.sleep(0.05)
        print(json.dumps({**opened, "errors": gui.errors, "output": node.outputVolume.GetName(),
                          "torchAfterRun": "torch" in sys.modules, "tqdm": "tqdm" in sys.modules}))
    """)
    assert result["ready"] and result["card"] and not result["torch"] and not result["cli"]
    assert result["errors"] == [] and result["output"] == "MedSynthPhantom-T1-synthetic-T2"
    assert not result["torchAfterRun"] and not result["tqdm"]


@pytest.mark.torch
def test_checking_a_training_run_before_it_starts_imports_no_torch(tmp_path):
    """MedSynth Train asks TrainConfig (what `medsynth train` checks with) in Slicer's own process."""
    result = run(f"""
        from medsynth.core.errors import ConfigError
        from MedSynthTrainLib.TrainingParameters import TrainingParameters
        ok = TrainingParameters(dataFolder={str(tmp_path)!r}, outputFolder={str(tmp_path / "run")!r}).checkedArguments()
        try:
            TrainingParameters(dataFolder={str(tmp_path)!r}, outputFolder="x", target="T1").checkedArguments()
            refused = ""
        except ConfigError as exc:
            refused = str(exc)
        print(json.dumps({{"ok": "--data" in ok, "refused": refused, "torch": "torch" in sys.modules}}))
    """)
    assert result == {"ok": True, "refused": "data: source and target are both T1", "torch": False}
