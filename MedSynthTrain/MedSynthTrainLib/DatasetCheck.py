"""The dataset summary of the training module, computed off the GUI thread.

A path typed into the folder box changes with every keystroke; the widget waits until typing pauses
(``DEBOUNCE_MS``) or a folder is browsed to, then ``start``s a check here. The scan (image headers only,
bounded by ``medsynth.dataset.MAX_SCANNED`` entries) runs in a worker thread; ``poll`` returns its text once
done. A newer check supersedes an older one, whose result is dropped, and errors become the summary's
text rather than dialogs popping up mid-typing.

Slicer's main thread holds the GIL while Qt waits for events (docs/architecture.md, "Reading the child"), so
the worker runs only while Python code does: each ``poll`` (every 100 ms from a QTimer) therefore sleeps
``WORKER_SLICE_S`` while a check runs, which releases the GIL to the worker for that long.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

DEBOUNCE_MS = 600
WORKER_SLICE_S = 0.03  # the GUI waits this long per poll; the worker gets the interpreter meanwhile


class DatasetCheck:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._result: str | None = None
        self.running = False

    def start(self, folder: str, pattern: str = "", source: str = "", target: str = "", unpaired: bool = False,
              targetFolder: str = "") -> None:
        """Check ``folder`` in the background (nothing for an empty or missing path); ``unpaired``: count the
        source and target volumes (the targets in ``targetFolder`` when given) instead of pairs."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._result = None
        if not folder or not Path(folder).exists():
            self._finish(generation, "" if not folder else f"{folder}: no such folder or list file")
            return
        self.running = True
        threading.Thread(target=self._check, args=(generation, folder, pattern, source, target, unpaired, targetFolder),
                         daemon=True).start()

    def _check(self, generation: int, folder: str, pattern: str, source: str, target: str, unpaired: bool,
               targetFolder: str) -> None:
        try:
            from medsynth.dataset_summary import summarize_dataset

            text = summarize_dataset(folder, [pattern] if pattern else None, source or None, target or None,
                                     unpaired, targetFolder or None).text()
        except Exception as error:  # any reason the folder is not a dataset, shown as the summary
            text = f"{folder}: {error}"
        self._finish(generation, text)

    def _finish(self, generation: int, text: str) -> None:
        with self._lock:
            if generation == self._generation:  # a newer check started meanwhile: this one is stale
                self._result, self.running = text, False

    def poll(self) -> str | None:
        """The newest check's summary once it is done (then None until the next check ends)."""
        if self.running:
            time.sleep(WORKER_SLICE_S)  # releases the GIL: the worker's share of Slicer's interpreter
        with self._lock:
            result, self._result = self._result, None
        return result

    def wait(self, timeout: float = 60.0) -> str | None:
        """Blocking (scripts and tests): the newest check's summary."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.poll()
