"""Model files a user added (in the Slicer module, or with ``medsynth models --add``): one list that the
command and the module both read, so a model added in one is offered by the other.

The list is ``models.json`` in ``$MEDSYNTH_HOME`` (default ``~/.medsynth``): a JSON list of file paths. Reading
it opens only the files' JSON headers (their cards); how a file is checked before it is added (its weights
against its card: ``medsynth.checkpoint``) is up to the caller, so Slicer's process can leave that to a
child process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .card import ModelCard, parse_json
from .errors import MedSynthError, ModelError
from .files import atomic_output
from .model_file import read_card

HOME_VARIABLE = "MEDSYNTH_HOME"
LIST_FILE = "models.json"


@dataclass
class UserModel:
    name: str
    path: Path
    card: ModelCard


def user_models_file() -> Path:
    """Where the list lives: ``$MEDSYNTH_HOME/models.json``, else ``~/.medsynth/models.json``."""
    return Path(os.environ.get(HOME_VARIABLE) or Path.home() / ".medsynth") / LIST_FILE


def user_model_files(listing: Path | None = None) -> list[Path]:
    """The listed files, in the order they were added (none if there is no list yet)."""
    listing = listing or user_models_file()
    if not listing.is_file():
        return []
    files = parse_json(listing, "list of user models")
    if not isinstance(files, list) or not all(isinstance(p, str) for p in files):
        raise ModelError(f"{listing}: expected a JSON list of model file paths")
    return [Path(p) for p in files]


def user_models(listing: Path | None = None) -> tuple[list[UserModel], list[str]]:
    """The listed models whose cards read, and for the others what is wrong with them."""
    found, problems = [], []
    for path in user_model_files(listing):
        try:
            card = read_card(path)
        except MedSynthError as exc:
            problems.append(f"{path}: {exc}")
            continue
        found.append(UserModel(card.name, path, card))
    return found, problems


def find_user_model(name: str, listing: Path | None = None) -> UserModel | None:
    """The listed model named ``name`` (the last added, if several share it)."""
    return next((m for m in reversed(user_models(listing)[0]) if m.name == name), None)


def add_user_model(path: str | Path, check: Callable[[Path], ModelCard] = read_card,
                   listing: Path | None = None) -> UserModel:
    """``check`` the file (default: its card only), then list it (once; added again, it moves to the end)."""
    path = Path(path).resolve()
    card = check(path)  # raises a clear MedSynthError for anything that is not a MedSynth model
    _write([p for p in user_model_files(listing) if p.resolve() != path] + [path], listing)
    return UserModel(card.name, path, card)


def remove_user_model(path: str | Path, listing: Path | None = None) -> None:
    """Take ``path`` off the list (the file itself is left alone); a path not listed is an error."""
    path = Path(path).resolve()
    files = user_model_files(listing)
    kept = [p for p in files if p.resolve() != path]
    if len(kept) == len(files):
        raise ModelError(f"{path} is not in the list of added models ({listing or user_models_file()})")
    _write(kept, listing)


def _write(files: list[Path], listing: Path | None) -> None:
    listing = listing or user_models_file()
    listing.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(listing) as tmp:
        tmp.write_text(json.dumps([str(p) for p in files], indent=2))
