"""Synthesis in a child process: progress, result on the input grid, clear errors, cancel that kills it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import slicer
from medsynth.core.errors import Cancelled, MedSynthError, ModelError
from medsynth.core.progress import CancelToken
from medsynth.inference import InferenceOptions
from medsynth.phantom import make_subject, phantom_grid
from MedSynthLib.BackgroundSynthesis import BackgroundSynthesis, State
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import updateNodeFromVolume, volumeFromNode

CPU = InferenceOptions(device="cpu", batch_size=4)


def runInChild(job: BackgroundSynthesis, progress=None, cancel=None):
    """What the module's widget does with a job (start, poll on its timer, Cancel, store): the stored nodes."""
    job.start()
    while job.poll() is State.RUNNING:
        if cancel is not None and cancel.cancelled:
            job.cancel()
            raise Cancelled("synthesis cancelled; the scene is unchanged")
        if progress is not None:
            progress(*job.progress)
        time.sleep(0.05)
    if job.state is State.FAILED:
        job.cleanup()
        raise MedSynthError(job.error)
    return job.store()


def input_node(scene, shape=(48, 56, 40)):
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "sub-T1")
    updateNodeFromVolume(node, make_subject(phantom_grid(shape), seed=3, contrasts=("T1",)).images["T1"])
    return node


@pytest.mark.torch
def test_child_process_result_matches_the_blocking_call(scene):
    node = input_node(scene)
    seen = []
    out = runInChild(BackgroundSynthesis(node, "phantom-pgan-T1-T2", CPU), lambda d, t, m: seen.append((d, t))).output
    assert out.GetName() == "sub-T1-synthetic-T2"
    direct = SynthesisLogic().synthesize(node, "phantom-pgan-T1-T2", CPU)
    np.testing.assert_allclose(slicer.util.arrayFromVolume(out), slicer.util.arrayFromVolume(direct),
                               rtol=1e-4, atol=1e-2)
    assert any(t > 1 for _, t in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.torch
def test_a_model_that_records_its_training_inputs_brings_back_the_trust_mask(scene, tiny, tmp_path):
    from medsynth import trust
    from medsynth.checkpoint import save_model
    from medsynth.core import intensity
    from medsynth.mask import foreground_mask

    node = input_node(scene)
    loaded = tiny(2)
    others = [make_subject(phantom_grid((48, 56, 40)), seed=4, index=k, contrasts=("T1",)).images["T1"]
              for k in range(2)]
    record = trust.summarize([(v, foreground_mask(v.array)) for v in others], loaded.card.source_normalization)
    loaded.card.training = {"domain": {trust.RECORD: record}}
    path = save_model(loaded.model, loaded.card, tmp_path / "recorded.safetensors")
    mask = runInChild(BackgroundSynthesis(node, str(path), CPU)).trustMask
    assert mask is not None and mask.IsA("vtkMRMLLabelMapVolumeNode")
    source = slicer.util.arrayFromVolume(node)
    assert slicer.util.arrayFromVolume(mask).shape == source.shape
    assert set(np.unique(slicer.util.arrayFromVolume(mask))) <= {0, 1}
    # the same mask as in this process (the child's file round trip loses nothing)
    head = foreground_mask(source.astype(np.float32))
    normalized = intensity.apply(intensity.fit(loaded.card.source_normalization, source, head), source)
    expected, _ = trust.check(volumeFromNode(node), normalized, head, loaded.card)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(mask) > 0, expected)


@pytest.mark.torch
def test_errors_are_reported_and_leave_the_scene_unchanged(scene, tmp_path):
    node = input_node(scene)
    with pytest.raises(ModelError):
        BackgroundSynthesis(node, "no-such-model", CPU)  # refused before any process starts
    before = scene.GetNumberOfNodes()
    job = BackgroundSynthesis(node, "phantom-pgan-T1-T2", InferenceOptions(device="cpu"))
    job.options.batch_size = 0  # slipped past the parent's checks: the child must refuse it and say why
    with pytest.raises(MedSynthError, match="batch size must be at least 1"):
        runInChild(job)
    assert job.state is State.FAILED and scene.GetNumberOfNodes() == before and not job.workdir.exists()


@pytest.mark.torch
def test_cancel_kills_the_child_and_adds_nothing(scene):
    node = input_node(scene, (160, 160, 120))
    before = scene.GetNumberOfNodes()
    job = BackgroundSynthesis(node, "phantom-pgan-T1-T2", CPU)
    cancel = CancelToken()

    def progress(done, total, message):
        if done > 0:  # the child is at work: stop it there
            cancel.cancel()

    with pytest.raises(Cancelled, match="scene is unchanged"):
        runInChild(job, progress, cancel)
    assert job.process.poll() is not None and job.state is State.CANCELLED
    assert scene.GetNumberOfNodes() == before and not job.workdir.exists()


def test_the_child_finds_the_package_where_slicer_installed_it(tmp_path, monkeypatch):
    """In Slicer, medsynth sits among the scripted modules, on the path of Slicer's process only."""
    import subprocess
    import sys

    import medsynth
    from MedSynthLib.BackgroundProcess import childEnvironment

    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}")
    env = childEnvironment()
    folder = str(Path(medsynth.__file__).resolve().parents[1])
    assert env["PYTHONPATH"].split(os.pathsep) == [folder, str(tmp_path)]
    # a Python that does not have the package installed (isolated from site-packages) still finds it
    found = subprocess.run([sys.executable, "-S", "-c", "import medsynth, sys; sys.stdout.write(medsynth.__file__)"],
                           env=env, capture_output=True, text=True)
    assert found.returncode == 0 and found.stdout.startswith(folder)


@pytest.mark.torch
def test_the_background_result_lies_on_the_inputs_exact_grid(scene):
    """The child reads and writes float32 NIfTI headers; the result still gets the input node's own grid."""
    node = input_node(scene, (40, 44, 32))
    angle = np.deg2rad(17.3)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation @ np.diag([0.9375, 0.9375, 1.2000001])  # oblique, anisotropic
    matrix[:3, 3] = [-119.53125012, 97.1234567891, -61.000000123]
    node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(matrix))
    out = runInChild(BackgroundSynthesis(node, "phantom-jointhist-T1-T2", CPU)).output
    found = slicer.util.vtkMatrixFromArray(np.eye(4))
    out.GetIJKToRASMatrix(found)
    np.testing.assert_allclose(slicer.util.arrayFromVTKMatrix(found), matrix, rtol=0, atol=1e-9)


def test_bundled_models_go_to_the_child_by_name_so_it_checks_their_sha256(scene):
    from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
    from MedSynthLib.RunLogic import RunLogic

    node = getParameterNode(scene)
    SynthesisParameters(inputVolume=input_node(scene), mapping="T1->T2", model="phantom-pgan-T1-T2",
                        device="cpu").write(node)
    job = RunLogic(scene).start(node)
    try:
        command = job.process.job.command
        assert command[command.index("--model") + 1] == "phantom-pgan-T1-T2"  # a name, not a path
    finally:
        job.cancel()


def test_on_windows_the_child_and_its_taskkill_get_no_console_window():
    """Checked with Windows' constants on any platform (``subprocess`` has them on Windows only)."""
    import types

    from MedSynthLib.BackgroundProcess import BackgroundProcess, hiddenWindowOptions

    class StartupInfo:
        dwFlags, wShowWindow = 0, 1

    windows = types.SimpleNamespace(STARTUPINFO=StartupInfo, STARTF_USESHOWWINDOW=1, CREATE_NO_WINDOW=0x08000000,
                                    CREATE_NEW_PROCESS_GROUP=0x200)
    hidden = hiddenWindowOptions("win32", windows)
    assert hidden["creationflags"] == 0x08000000 and hidden["startupinfo"].dwFlags & 1
    assert hidden["startupinfo"].wShowWindow == 0  # SW_HIDE
    options = BackgroundProcess(["medsynth"]).popenOptions("win32", windows)
    assert options["creationflags"] == 0x08000000 | 0x200 and "start_new_session" not in options
    assert options["startupinfo"].wShowWindow == 0
    assert hiddenWindowOptions("linux") == {}
    assert BackgroundProcess(["medsynth"]).popenOptions("linux")["start_new_session"] is True


CHATTY_CHILD = r"""
import sys, time
for step in range(1, 3001):
    sys.stderr.write(f"medsynth-progress {step} 3000 epoch 1\n")
    if step % 1000 == 0:
        sys.stderr.write(f"message {step} é\n")
        sys.stderr.flush()
        time.sleep(0.05)
sys.stderr.write("medsynth: error: the last line, without its newline")
sys.exit(2)
"""


def test_the_child_is_read_in_poll_without_a_thread():
    """Slicer's main thread holds the GIL while Qt idles, so a reader thread would run only inside timer
    callbacks: poll() reads the pipe itself, without blocking, whatever the child writes (3000 progress lines,
    more than the pipe's buffer; a last line without newline; non-ASCII text)."""
    import sys
    import threading
    import time

    from MedSynthLib.BackgroundProcess import BackgroundProcess

    process = BackgroundProcess([sys.executable, "-c", CHATTY_CHILD])
    threads = threading.active_count()
    process.start()
    assert threading.active_count() == threads
    deadline = time.time() + 60
    while process.poll() is State.RUNNING:
        assert time.time() < deadline and threading.active_count() == threads
        time.sleep(0.01)
    assert process.state is State.FAILED and process.progress == (3000, 3000, "epoch 1")
    assert process.messages[:3] == ["message 1000 é", "message 2000 é", "message 3000 é"]
    assert process.error == "the last line, without its newline"
    assert process.process.stderr.closed


def test_progress_lines_are_throttled_but_keep_every_new_stage_and_the_end():
    from medsynth.core.progress import ProgressLines, parse_progress_line

    written, now = [], [0.0]
    progress = ProgressLines(written.append, interval=0.25, clock=lambda: now[0])
    for step in range(1, 101):  # 100 steps in 1 s: about one line per 0.25 s
        now[0] = step * 0.01
        progress(step, 200, "epoch 1")
    progress(101, 200, "epoch 2")  # a new stage gets its line at once
    now[0] = 1.02
    progress(200, 200, "epoch 2")  # and so does the last step
    lines = [parse_progress_line(line) for line in written]
    assert lines[0] == (1, 200, "epoch 1") and lines[-2:] == [(101, 200, "epoch 2"), (200, 200, "epoch 2")]
    assert 5 <= len(lines) <= 8


@pytest.mark.torch  # the command part runs `medsynth synthesize`
def test_the_module_and_the_command_refuse_a_request_in_the_same_words(scene, tmp_path, capsys):
    """One check (ModelCard.check_request) for the number of inputs and for uncertainty from a voxel map."""
    from medsynth.cli.main import main
    from medsynth.core.catalog import resolve_model
    from medsynth.core.errors import InputError
    from medsynth.core.model_file import read_card
    from medsynth.io import write_volume
    from MedSynthLib.VolumeConversion import volumeFromNode

    node = input_node(scene)
    card = read_card(resolve_model("phantom-jointhist-T1-T2"))
    with pytest.raises(InputError) as expected:
        card.check_request(1, uncertainty=True)
    with pytest.raises(InputError) as module:
        BackgroundSynthesis(node, "phantom-jointhist-T1-T2", CPU, uncertainty=True)
    source = tmp_path / "in-T1.nii.gz"
    write_volume(volumeFromNode(node), source)
    assert main(["-q", "synthesize", str(source), str(tmp_path / "out.nii.gz"), "-m", "phantom-jointhist-T1-T2",
                 "--uncertainty", str(tmp_path / "sd.nii.gz")]) == 2
    assert str(expected.value) == str(module.value) and str(expected.value) in capsys.readouterr().err
    with pytest.raises(InputError, match=r"takes 1 input volume\(s\), T1 in this order; got 2"):
        BackgroundSynthesis(node, "phantom-jointhist-T1-T2", CPU, extraInputNodes=[node])
