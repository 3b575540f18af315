"""A failure in a GUI slot, as Slicer shows it: ``slicer.util.tryWithErrorDisplay`` puts the message and the
traceback in a dialog, then re-raises (slicer/util.py, 5.10 to main). A slot that must leave its panel usable
afterwards (the button reset, the status saying what failed) takes the error here, once it has been shown,
and goes on. Imports slicer only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import slicer


@dataclass
class Outcome:
    """What the guarded block ended with: ``error`` is None when it succeeded."""

    error: Exception | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@contextlib.contextmanager
def errorsShown(message: str, waitCursor: bool = True) -> Iterator[Outcome]:
    """Run the block; an exception is shown in Slicer's error dialog under ``message`` and kept in the yielded
    ``Outcome`` instead of leaving the slot, so the caller resets its GUI in every case."""
    outcome = Outcome()
    try:
        with slicer.util.tryWithErrorDisplay(message, waitCursor=waitCursor):
            yield outcome
    except Exception as error:  # already shown, with its traceback as the dialog's details
        outcome.error = error
