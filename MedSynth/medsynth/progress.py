"""Progress reporting and cooperative cancellation for long work.

Long functions take ``progress(done, total, message)`` and a :class:`CancelToken`; they check the token
between batches and raise :class:`~medsynth.core.errors.Cancelled`, before anything is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .core.errors import Cancelled

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
