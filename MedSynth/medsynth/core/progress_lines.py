"""The progress-line protocol between ``medsynth --progress-lines`` and the program driving it.

The child writes ``medsynth-progress DONE TOTAL MESSAGE`` lines on stderr; the Slicer module parses them.
Both sides import this module, which imports only the standard library, so the Slicer side never loads the
CLI (tqdm, torch) to understand its child. The child throttles its lines (``ProgressLines``): the parent reads
them from a pipe a few times per second, and a training step can be much faster than that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
