"""The models the module offers: the bundled catalog plus model files the user added.

User models are remembered in the list the ``medsynth`` command reads too (``medsynth.core.user_models``:
``$MEDSYNTH_HOME/models.json``, default ``~/.medsynth``), so a model added here is offered there and back.
A file is added only if its card is valid and its weights rebuild the network it
describes (nothing is unpickled); a listed file that has since gone bad is reported, not offered.
Listing models and showing their cards reads only the files' JSON headers: torch is imported into Slicer's
process only to check a model file the user adds.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import slicer
from medsynth.core.card import ModelCard
from medsynth.core.catalog import kind_rank, load_catalog, model_kind
from medsynth.core.citations import citations_for
from medsynth.core.errors import ModelError
from medsynth.core.user_models import add_user_model, remove_user_model, user_model_files, user_models, user_models_file

from .Signal import modelsChanged


@dataclass
class ModelChoice:
    name: str
    path: Path
    card: ModelCard
    bundled: bool
    default: bool = False

    @property
    def key(self) -> str:
        """How the parameter node names it: a bundled model by name, a user model by its file."""
        return self.name if self.bundled else str(self.path)

    @property
    def kind(self) -> str:
        return model_kind(self.card)

    @property
    def label(self) -> str:
        what = {"real data": "", "phantom demo": "phantom demo; ", "baseline": "baseline; "}[self.kind]
        return f"{self.name} ({what}{self.card.architecture}, {self.card.engine})" + ("" if self.bundled else " [user]")


@dataclass
class ModelMenu:
    mappings: list[str]
    mapping: str
    architectures: list[str]
    architecture: str  # "" = any
    models: list[ModelChoice]
    model: str  # the selected model's key


MODE_ENGINES = {"slice": ("voxelwise", "slicewise"), "patch": ("voxelwise", "patchwise")}  # maps run in either


def fitsMode(card: ModelCard, mode: str) -> bool:
    return mode == "auto" or card.engine in MODE_ENGINES[mode]


def select(choices: list[ModelChoice], mapping: str | None = None, architecture: str | None = None,
           mode: str = "auto") -> list[ModelChoice]:
    """``choices`` for ``mapping`` (None: any), ``architecture`` ("" or None: any) and ``mode``, in order."""
    return [c for c in choices if (mapping is None or c.card.mapping == mapping)
            and (not architecture or c.card.architecture == architecture) and fitsMode(c.card, mode)]


def mappingsOf(choices: list[ModelChoice]) -> list[str]:
    return sorted({c.card.mapping for c in choices})


def cardHtml(card: ModelCard) -> str:
    """The model card as the module shows it before running: what it does, how it was trained and
    tested, and what to cite."""
    rows = [("Mapping", card.mapping), ("Architecture", f"{card.architecture} ({card.engine})")]
    training = card.training or {}
    if training.get("data") or training.get("dataset"):
        rows.append(("Trained on", str(training.get("data") or training.get("dataset"))))
    subjects = training.get("subjects")
    if isinstance(subjects, dict):  # per split (trained models), or a plain count (fitted baselines)
        rows.append(("Subjects", ", ".join(f"{k} {v}" for k, v in subjects.items())))
    elif subjects:
        rows.append(("Subjects", str(subjects)))
    for split, values in card.metrics.items():
        if isinstance(values, dict):
            shown = ", ".join(f"{k.upper()} {v:.3g}" for k, v in values.items() if isinstance(v, (int, float)))
            if shown:
                rows.append((html.escape(split), shown))
    body = "".join(f"<tr><td><b>{k}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    text = f"<p><b>{html.escape(card.name)}</b>: {html.escape(card.description)}</p><table>{body}</table>"
    references = citations_for(card.architecture, card.references)
    if references:
        text += "<p><b>Cite</b></p><ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in references) + "</ul>"
    return text


def defaultUserModelsFile() -> Path:
    """The list the ``medsynth`` command reads too (``medsynth.core.user_models``). Until MedSynth 2026-12 the module
    kept its own next to Slicer's settings: that list is moved here once, so no added model is lost."""
    shared = user_models_file()
    app = getattr(slicer, "app", None)
    former = Path(app.slicerUserSettingsFilePath).parent / "MedSynth" / "models.json" if app is not None else None
    if former is not None and former.is_file() and not shared.exists():
        shared.parent.mkdir(parents=True, exist_ok=True)
        former.replace(shared)
    return shared


class ModelCatalog:
    def __init__(self, userModelsFile: Path | None = None) -> None:
        self.userModelsFile = Path(userModelsFile or defaultUserModelsFile())
        self.problems: list[str] = []  # user model files that could not be offered, and why

    def userFiles(self) -> list[Path]:
        return user_model_files(self.userModelsFile)

    def models(self, mapping: str | None = None, architecture: str | None = None) -> list[ModelChoice]:
        """Bundled and user models for ``mapping`` (e.g. ``"T1->T2"``): real-data models first, then phantom demo
        models, then the baselines; within each, defaults, bundled before the user's, then by name."""
        choices = [ModelChoice(e.name, e.path, e.card, True, e.default) for e in load_catalog()]
        added, self.problems = user_models(self.userModelsFile)
        choices += [ModelChoice(m.name, m.path, m.card, False) for m in added]
        return sorted(select(choices, mapping, architecture),
                      key=lambda c: (kind_rank(c.card), not c.default, not c.bundled, c.name))

    def choose(self, mapping: str, architecture: str = "", mode: str = "auto", model: str = "") -> ModelChoice:
        """The model to run: ``model`` (a name or file) if given, else the first of the mapping's models
        that fits ``architecture`` and ``mode`` (slice: 2D models; patch: 3D models; baselines fit both)."""
        everything = self.models()
        if model:
            choice = next((c for c in everything if model in (c.name, str(c.path))), None)
            if choice is None:
                raise ModelError(f"no model '{model}' in the catalog; add its file first (Add model file)")
            if choice.card.mapping != mapping:
                raise ModelError(f"model '{model}' maps {choice.card.mapping}, not {mapping}")
            if not fitsMode(choice.card, mode):
                raise ModelError(f"model '{model}' is {choice.card.engine}: it cannot run in {mode} mode")
            return choice
        choices = select(everything, mapping, architecture, mode)
        if not choices:
            wanted = " ".join(x for x in (architecture, "" if mode == "auto" else f"{mode}-mode") if x)
            raise ModelError(f"no {wanted + ' ' if wanted else ''}model for {mapping}; available mappings: "
                             f"{', '.join(mappingsOf(everything))}")
        return choices[0]

    def menu(self, mapping: str, architecture: str = "", mode: str = "auto", model: str = "") -> ModelMenu:
        """What the module's three combo boxes offer for these settings, and what stays selected: a choice
        that no longer fits (another mapping or mode) falls back to the first that does."""
        from medsynth.core.catalog import withdrawn_models

        everything = self.models()
        mappings = mappingsOf(everything)
        # a mapping whose real-data model was withdrawn stays choosable: its card area says why it has none
        mappings += sorted({w.mapping for w in withdrawn_models()} - set(mappings))
        mapping = mapping if mapping in mappings or not mappings else mappings[0]
        fitting = select(everything, mapping, mode=mode)
        architectures = sorted({c.card.architecture for c in fitting})
        architecture = architecture if architecture in architectures else ""
        models = select(fitting, architecture=architecture)
        if model not in [c.key for c in models]:
            model = models[0].key if models else ""
        return ModelMenu(mappings, mapping, architectures, architecture, models, model)

    def mappings(self) -> list[str]:
        return mappingsOf(self.models())

    def addModelFile(self, path: str | Path) -> ModelChoice:
        """Check ``path`` (its card, and a complete table of weights) and add it to the list; returns its choice.
        Torch-free, as ``medsynth models --add``: whether the weights fit the card's network is checked by the
        child process that loads it, which refuses a mismatched file before it writes anything."""
        added = add_user_model(path, listing=self.userModelsFile)
        modelsChanged.emit()
        return ModelChoice(added.name, added.path, added.card, False)

    def removeModelFile(self, path: str | Path) -> None:
        remove_user_model(path, self.userModelsFile)
        modelsChanged.emit()
