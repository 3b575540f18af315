"""A ``medsynth`` command in a child process, polled from Slicer's GUI thread (or a script's loop).

The child runs in its own process group with ``--progress-lines``; ``poll()`` reads whatever its stderr pipe
holds without blocking, turns the parseable ``medsynth-progress DONE TOTAL MESSAGE`` lines into ``progress``
and keeps the rest as messages, and ``cancel()`` kills the whole process tree (the child and anything it
started).

No reader thread: Slicer's main thread holds the GIL while Qt waits for events (neither Slicer's
qSlicerCoreApplication nor CTK's ctkAbstractPythonManager releases it around the event loop), so a Python
thread there runs only while some Python code does, such as a QTimer callback. Reading in ``poll()``, which a
QTimer calls, is what would happen anyway, without the thread. The pipe's buffer (64 KiB on Linux) holds
far more than the child writes between two polls: its progress lines are throttled to a few per second
(``medsynth.core.progress.ProgressLines``).
Synthesis and training both run this way, so the GUI never freezes and Cancel or Stop act at once.
On Windows the child (and the ``taskkill`` that cancels it) gets no console window of its own.

The child dies with Slicer: its stderr is a pipe into Slicer's process, so it ends at its next message
once Slicer has gone. Training keeps every finished epoch, so Resume continues after a restart.
"""

from __future__ import annotations

import enum
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import slicer
from medsynth.core.progress import parse_progress_line


class State(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


def pythonExecutable() -> str:
    """Slicer's own Python launcher inside Slicer (it sets up the environment), else this interpreter."""
    if getattr(slicer, "app", None) is not None:
        return shutil.which("PythonSlicer") or sys.executable
    return sys.executable


def childEnvironment() -> dict[str, str]:
    """This environment, with the folder holding the ``medsynth`` package first on PYTHONPATH: inside Slicer
    the package lives among the scripted modules, which Slicer's own process has on its path but a child
    Python would not."""
    import medsynth

    folder = str(Path(medsynth.__file__).resolve().parents[1])
    paths = [folder, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != folder)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def hiddenWindowOptions(platform: str | None = None, module=subprocess) -> dict:
    """``Popen`` keyword arguments that keep a child's console window hidden on Windows (none elsewhere)."""
    if (platform or sys.platform) != "win32":
        return {}
    info = module.STARTUPINFO()
    info.dwFlags |= module.STARTF_USESHOWWINDOW
    info.wShowWindow = 0  # SW_HIDE
    return {"startupinfo": info, "creationflags": module.CREATE_NO_WINDOW}


def medsynthCommand(*args: str) -> list[str]:
    """``medsynth --progress-lines ARGS`` through the Python that has the package."""
    return [pythonExecutable(), "-m", "medsynth.cli.main", "--progress-lines", *args]


class BackgroundProcess:
    """One child process; ``state``, ``progress`` ``(done, total, message)``, ``messages`` and ``error``."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.state, self.progress, self.error = State.IDLE, (0, 1, ""), ""
        self.messages: list[str] = []
        self.process: subprocess.Popen | None = None
        self._partial = b""  # the start of a line whose end the child has not written yet

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, **self.popenOptions())
        os.set_blocking(self.process.stderr.fileno(), False)  # pipes on Windows too, from Python 3.12
        self.state = State.RUNNING

    def popenOptions(self, platform: str | None = None, module=subprocess) -> dict:
        """How the child is started: its own process group (so cancel reaches everything it starts), stderr
        a pipe read as bytes (decoded line by line), and on Windows no console window."""
        options = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "env": childEnvironment()}
        if (platform or sys.platform) == "win32":
            options.update(hiddenWindowOptions("win32", module))
            options["creationflags"] |= module.CREATE_NEW_PROCESS_GROUP
        else:
            options["start_new_session"] = True
        return options

    def readLines(self, final: bool = False) -> list[str]:
        """The complete lines the child has written since the last call, without waiting for more; ``final``
        (the child has ended): everything, the last line even without its newline, and the pipe closed."""
        stream = self.process.stderr
        if stream is None or stream.closed:
            return []
        chunks = [self._partial]
        while True:
            try:
                chunk = os.read(stream.fileno(), 1 << 16)
            except BlockingIOError:  # nothing more for now
                break
            if not chunk:  # end of file: the child closed its end
                final = True
                break
            chunks.append(chunk)
        *lines, self._partial = b"".join(chunks).split(b"\n")
        if final:
            if self._partial:
                lines.append(self._partial)
            self._partial = b""
            stream.close()
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def poll(self) -> State:
        """Take in the child's new output; returns the state (RUNNING until the child has ended)."""
        ended = self.state is State.RUNNING and self.process.poll() is not None
        if self.state is not State.RUNNING:
            return self.state
        for line in self.readLines(final=ended):  # once ended, the child's last lines (its error) are all there
            progress = parse_progress_line(line)
            if progress is not None:
                self.progress = progress
            else:
                self.messages.append(line)
        if ended:
            code = self.process.returncode
            self.state = State.SUCCEEDED if code == 0 else State.FAILED
            if self.state is State.FAILED:
                errors = [m.split("error: ", 1)[1] for m in self.messages if "medsynth: error: " in m]
                tail = " ".join(self.messages[-3:])
                self.error = errors[-1] if errors else f"medsynth ended with code {code}: {tail}"
        return self.state

    def cancel(self) -> None:
        """Kill the child and everything it started."""
        if self.process is not None and self.process.poll() is None:
            if sys.platform == "win32":
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.process.pid)], capture_output=True,
                               **hiddenWindowOptions())
            else:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.state = State.CANCELLED
