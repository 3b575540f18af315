"""The training module's dataset summary, off the GUI thread: the newest check wins, errors become text."""

from __future__ import annotations

import threading

from medsynth.phantom import write_phantom_dataset
from MedSynthTrainLib import DatasetCheck as module
from MedSynthTrainLib.DatasetCheck import DatasetCheck


def test_the_summary_comes_from_a_worker_thread(tmp_path):
    write_phantom_dataset(tmp_path / "data", 2, shape=(24, 28, 16), seed=2, contrasts=("T1", "T2"))
    check = DatasetCheck()
    seen = []
    real = threading.Thread

    def spy(*args, **kwargs):
        seen.append(kwargs.get("target"))
        return real(*args, **kwargs)

    module.threading.Thread = spy
    try:
        check.start(str(tmp_path / "data"), source="T1", target="T2")
    finally:
        module.threading.Thread = real
    assert len(seen) == 1  # the scan ran in a worker thread, not in the caller's (the GUI's)
    text = check.wait()
    assert "2 subject(s)" in text and "T1->T2 (2)" in text and check.poll() is None  # taken once


def test_errors_are_the_summary_and_a_newer_check_wins(tmp_path, monkeypatch):
    check = DatasetCheck()
    check.start(str(tmp_path / "missing"))
    assert "no such folder" in check.wait()
    check.start("")
    assert check.wait() == ""
    (tmp_path / "empty").mkdir()
    check.start(str(tmp_path / "empty"))
    assert "no subject volumes found" in check.wait()  # the package's message, not a dialog

    release = threading.Event()
    real = module.DatasetCheck._check

    def slow(self, generation, *args):
        release.wait(5)
        real(self, generation, *args)

    monkeypatch.setattr(module.DatasetCheck, "_check", slow)
    check.start(str(tmp_path / "empty"))  # a slow, stale check...
    monkeypatch.setattr(module.DatasetCheck, "_check", real)
    check.start(str(tmp_path / "missing"))  # ...superseded by the path typed next
    release.set()
    assert "no such folder" in check.wait()
    assert check.wait(0.5) is None  # the stale result never shows up
