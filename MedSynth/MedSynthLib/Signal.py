"""A pure-Python signal (PythonQt cannot declare custom Qt signals in Python), and the two MedSynth emits
across modules: ``modelsChanged``, after a model file was added to the user's models (by MedSynth's "Add"
button or MedSynth Train's "Add model to MedSynth"), so every open model menu is refreshed; and
``dependenciesChanged``, after MedSynth's packages were installed from either module, so both modules stop
offering "Install dependencies..." (each also checks again when the user enters it)."""

from __future__ import annotations

from collections.abc import Callable


class Signal:
    def __init__(self) -> None:
        self._slots: list[Callable[[], None]] = []

    def connect(self, slot: Callable[[], None]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[[], None]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self) -> None:
        for slot in list(self._slots):
            slot()


modelsChanged = Signal()
dependenciesChanged = Signal()
