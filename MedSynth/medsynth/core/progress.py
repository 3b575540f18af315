"""Progress of long work: the callback and cancel token a long function takes, and the progress-line protocol
between ``medsynth --progress-lines`` and the program driving it.

Long functions take ``progress(done, total, message)`` and a :class:`CancelToken`; they check the token between
batches and raise :class:`~medsynth.core.errors.Cancelled`, before anything is written. A child process writes
``medsynth-progress DONE TOTAL MESSAGE`` lines on stderr; the Slicer module parses them. Both sides import this
module, which imports only the standard library, so the Slicer side never loads the CLI (tqdm, torch) to
understand its child. The child throttles its lines (``ProgressLines``): the parent reads them from a pipe a
few times per second, and a training step can be much faster than that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import Cancelled

ProgressCallback = Callable[[int, int, str], None]


class CancelToken:
    """Thread-safe flag: the GUI or a signal handler sets it, the worker checks it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user; nothing was written")


class Reporter:
    """Counts work units, forwards them to an optional callback and checks cancellation each step."""

    def __init__(self, total: int, progress: ProgressCallback | None, cancel: CancelToken | None, what: str):
        self.total, self.done = max(int(total), 1), 0
        self.progress, self.cancel, self.what = progress, cancel, what
        self.check()

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.check()

    def step(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self.progress is not None:
            self.report()
        self.check()

    def report(self) -> None:
        self.progress(self.done, self.total, self.what)


PROGRESS_PREFIX = "medsynth-progress"
MIN_INTERVAL = 0.25  # seconds between two progress lines (the Slicer modules poll every 0.2 s)


class ProgressLines:
    """A ``progress(done, total, message)`` callback writing progress lines through ``write``, at most one per
    ``interval`` seconds; a new message (a new epoch, a new stage) and the last step always get theirs."""

    def __init__(self, write: Callable[[str], None], interval: float = MIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write, self.interval, self.clock = write, interval, clock
        self._last, self._message = None, None

    def __call__(self, done: int, total: int, message: str) -> None:
        now = self.clock()
        due = self._last is None or now - self._last >= self.interval
        if due or message != self._message or done >= total:
            self.write(format_progress_line(done, total, message))
            self._last, self._message = now, message


def format_progress_line(done: int, total: int, message: str) -> str:
    return f"{PROGRESS_PREFIX} {int(done)} {int(total)} {message}".rstrip()


def parse_progress_line(line: str) -> tuple[int, int, str] | None:
    """``(done, total, message)`` of a progress line, or None for any other line (a message to show)."""
    if not line.startswith(PROGRESS_PREFIX + " "):
        return None
    parts = line.split(" ", 3)
    try:
        done, total = int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return None
    return done, total, parts[3] if len(parts) > 3 else ""
