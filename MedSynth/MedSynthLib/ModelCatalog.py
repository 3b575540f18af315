"""The models the module offers: the bundled catalog plus model files the user added.

User models are remembered in a small JSON list (``models.json`` next to Slicer's settings, or in
``~/.medsynth``). A file is added only if its card is valid and its weights rebuild the network it
describes (nothing is unpickled); a listed file that has since gone bad is reported, not offered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import slicer
from medsynth.card import ModelCard
from medsynth.catalog import load_catalog
from medsynth.checkpoint import load_model, read_card
from medsynth.errors import MedSynthError, ModelError
from medsynth.io import atomic_output


@dataclass
class ModelChoice:
    name: str
    path: Path
    card: ModelCard
    bundled: bool
    default: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.card.architecture}, {self.card.engine})" + ("" if self.bundled else " [user]")


def defaultUserModelsFile() -> Path:
    app = getattr(slicer, "app", None)
    if app is not None:
        return Path(app.slicerUserSettingsFilePath).parent / "MedSynth" / "models.json"
    return Path.home() / ".medsynth" / "models.json"


class ModelCatalog:
    def __init__(self, userModelsFile: Path | None = None) -> None:
        self.userModelsFile = Path(userModelsFile or defaultUserModelsFile())
        self.problems: list[str] = []  # user model files that could not be offered, and why

    def userFiles(self) -> list[Path]:
        if not self.userModelsFile.is_file():
            return []
        try:
            return [Path(p) for p in json.loads(self.userModelsFile.read_text())]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ModelError(f"{self.userModelsFile}: not a list of model files ({exc})") from None

    def models(self, mapping: str | None = None, architecture: str | None = None) -> list[ModelChoice]:
        """Bundled and user models for ``mapping`` (e.g. ``"T1->T2"``); defaults first, then by name."""
        choices = [ModelChoice(e.name, e.path, e.card, True, e.default) for e in load_catalog()]
        self.problems = []
        for path in self.userFiles():
            try:
                card = read_card(path)
                choices.append(ModelChoice(card.name, path, card, False))
            except MedSynthError as exc:
                self.problems.append(f"{path}: {exc}")
        choices = [c for c in choices if (mapping is None or c.card.mapping == mapping)
                   and (not architecture or c.card.architecture == architecture)]
        return sorted(choices, key=lambda c: (not c.default, not c.bundled, c.name))

    def mappings(self) -> list[str]:
        return sorted({c.card.mapping for c in self.models()})

    def addModelFile(self, path: str | Path) -> ModelChoice:
        """Validate ``path`` fully (card and weights) and remember it; returns its choice."""
        path = Path(path).resolve()
        loaded = load_model(path)  # raises a clear ModelError for anything that is not a MedSynth model
        files = [p for p in self.userFiles() if p.resolve() != path] + [path]
        self.userModelsFile.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.userModelsFile) as tmp:
            tmp.write_text(json.dumps([str(p) for p in files], indent=2))
        return ModelChoice(loaded.card.name, path, loaded.card, False)

    def removeModelFile(self, path: str | Path) -> None:
        path = Path(path).resolve()
        files = [p for p in self.userFiles() if p.resolve() != path]
        with atomic_output(self.userModelsFile) as tmp:
            tmp.write_text(json.dumps([str(p) for p in files], indent=2))
