"""The catalog of bundled models: file, SHA256 and card of each, in ``Resources/Models/catalog.json``.

The CLI and the Slicer module list models from the catalog without opening any weights; a bundled file
is checked against its SHA256 before it is loaded. An entry with a ``url`` (and ``size``) is a release file
that is not bundled: it is downloaded into the user's cache on first use (``model_download``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .card import ModelCard, parse_json
from .contrasts import canonical_contrast
from .errors import ModelError
from .files import atomic_output
from .model_download import cached_path, check_url, download
from .model_file import read_card
from .user_models import find_user_model

CATALOG_FILE = "catalog.json"
CATALOG_FORMAT = 1
_verified: set[tuple[str, float]] = set()


@dataclass
class CatalogEntry:
    name: str
    file: str
    sha256: str
    card: ModelCard
    default: bool
    folder: Path
    url: str = ""  # a release file downloaded on first use (not bundled)
    size: int = 0  # its size in bytes, when known

    @property
    def path(self) -> Path:
        """The bundled file, or for a release file its place in the user's cache (there once downloaded)."""
        bundled = self.folder / self.file
        return cached_path(self.file, self.sha256) if self.url and not bundled.exists() else bundled


def bundled_models_dir() -> Path:
    """Folder of the bundled models: $MEDSYNTH_MODELS_DIR, the source/Slicer layout, or the wheel's copy."""
    env = os.environ.get("MEDSYNTH_MODELS_DIR")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "Resources" / "Models"  # MedSynth/medsynth/core/catalog.py
    if (beside / CATALOG_FILE).exists():
        return beside
    try:  # a namespace package (no __init__.py): files() is a MultiplexedPath, whose str() is not a path
        return Path(str(resources.files("medsynth._bundled").joinpath(CATALOG_FILE))).parent
    except ModuleNotFoundError:
        return beside


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_catalog(folder: Path | None = None) -> list[CatalogEntry]:
    folder = bundled_models_dir() if folder is None else Path(folder)
    path = folder / CATALOG_FILE
    if not path.exists():
        return []
    data = parse_json(path, "catalog")
    if not isinstance(data, dict) or data.get("format") != CATALOG_FORMAT or not isinstance(data.get("models"), list):
        raise ModelError(f"{path}: expected {{'format': {CATALOG_FORMAT}, 'models': [...]}}")
    entries = []
    for index, item in enumerate(data["models"]):
        where = f"{path} entry {index + 1}"
        if not isinstance(item, dict):
            raise ModelError(f"{where}: expected an object with name, file, sha256 and card")
        missing = [key for key in ("name", "file", "sha256", "card") if key not in item]
        if missing:
            raise ModelError(f"{where}: lacks {', '.join(missing)}")
        for key in ("name", "file", "sha256"):
            if not isinstance(item[key], str) or not item[key]:
                raise ModelError(f"{where}: '{key}' must be a non-empty string")
        if Path(item["file"]).name != item["file"]:
            raise ModelError(f"{where}: 'file' must be a file name in the catalog folder, got {item['file']!r}")
        if "url" in item:
            check_url(item["url"], where)
        size = item.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ModelError(f"{where}: 'size' must be a number of bytes, got {size!r}")
        entries.append(CatalogEntry(
            name=item["name"], file=item["file"], sha256=item["sha256"],
            card=ModelCard.from_dict(item["card"], where=f"{path} entry '{item['name']}'"),
            default=bool(item.get("default", False)), folder=folder, url=item.get("url", ""), size=size,
        ))
    return entries


@dataclass
class Withdrawn:
    """A model that was bundled once and no longer is, because it failed the bundling rule: menus and listings
    say so for its mapping, so a user does not take a phantom or baseline model for the real-data one."""

    name: str
    mapping: str
    reason: str


def withdrawn_models(folder: Path | None = None) -> list[Withdrawn]:
    """The catalog's ``withdrawn`` list (empty when it has none)."""
    folder = bundled_models_dir() if folder is None else Path(folder)
    path = folder / CATALOG_FILE
    data = parse_json(path, "catalog") if path.exists() else {}
    items = data.get("withdrawn", []) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and {"name", "mapping", "reason"} <= set(i)
                                              and all(isinstance(i[k], str) for k in ("name", "mapping", "reason"))
                                              for i in items):
        raise ModelError(f"{path}: 'withdrawn' must list objects with name, mapping and reason")
    return [Withdrawn(i["name"], i["mapping"], i["reason"]) for i in items]


def withdrawn_note(mapping: str, folder: Path | None = None) -> str:
    """One line for a mapping whose real-data model was withdrawn ("" for any other mapping)."""
    found = [w for w in withdrawn_models(folder) if w.mapping == mapping]
    return " ".join(f"No real-data {mapping} model is bundled: {w.name} was withdrawn because {w.reason}."
                    for w in found)


KINDS = ("real data", "phantom demo", "baseline")  # the order menus and listings show models in


def model_kind(card) -> str:
    """What a user should know first about a model: a network trained on real data, a demonstration network
    trained on phantoms, or a non-learned voxel-wise baseline."""
    if card.engine == "voxelwise":
        return "baseline"
    data = str(card.training.get("data", "")) if isinstance(card.training, dict) else ""
    return "phantom demo" if card.name.startswith("phantom-") or "phantom" in data.lower() else "real data"


def kind_rank(card) -> int:
    return KINDS.index(model_kind(card))


def find_models(source: str | None = None, target: str | None = None, folder: Path | None = None) -> list[CatalogEntry]:
    """Catalog entries for a mapping (either side may be left open): real-data models, then phantom demo
    models, then baselines; defaults first within each."""
    src = canonical_contrast(source) if source else None
    tgt = canonical_contrast(target) if target else None
    hits = [e for e in load_catalog(folder)
            if (src is None or e.card.source_contrast == src) and (tgt is None or e.card.target_contrast == tgt)]
    return sorted(hits, key=lambda e: (kind_rank(e.card), not e.default, e.name))


def resolve_model(name_or_path: str | Path, folder: Path | None = None) -> Path:
    """Path of a model given a catalog name or a file; bundled files are checked against their SHA256."""
    candidate = Path(name_or_path)
    if candidate.exists() or candidate.suffix in (".safetensors", ".pt", ".pth", ".ckpt", ".bin"):
        return candidate
    entries = load_catalog(folder)
    for entry in entries:
        if entry.name == str(name_or_path):
            verify_entry(entry)
            return entry.path
    added = find_user_model(str(name_or_path))
    if added is not None:
        return added.path
    names = ", ".join(e.name for e in entries) or "(the catalog is empty)"
    raise ModelError(f"no model named '{name_or_path}' and no such file; bundled models: {names} (and the models "
                     "added with `medsynth models --add` or in Slicer: `medsynth models` lists them)")


def model_card(name_or_path: str | Path, folder: Path | None = None) -> ModelCard:
    """The card of a catalog name (from the catalog: nothing is opened or downloaded) or of a model file."""
    if not Path(name_or_path).exists():
        for entry in load_catalog(folder):
            if entry.name == str(name_or_path):
                return entry.card
    return read_card(resolve_model(name_or_path, folder))


def verify_entry(entry: CatalogEntry, progress=None) -> None:
    """The entry's file is there (a release file downloaded now, if it is not yet) and has its SHA256."""
    path = entry.path
    if not path.exists() and entry.url:
        download(entry.name, entry.url, entry.sha256, path, entry.size, progress)
    if not path.exists():
        raise ModelError(f"bundled model '{entry.name}': file {path} is missing; reinstall MedSynth")
    key = (str(path), path.stat().st_mtime)
    if key in _verified:
        return
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise ModelError(
            f"bundled model '{entry.name}': {path} has SHA256 {actual[:12]}..., catalog says "
            f"{entry.sha256[:12]}...; the file is corrupt or was replaced"
        )
    _verified.add(key)


def default_model(source: str, target: str, folder: Path | None = None) -> CatalogEntry | None:
    """The mapping's default model (the demo's, a phantom model: nothing real is bundled as data), else its
    first listed one; ``None`` when the catalog has none."""
    entries = find_models(source, target, folder)
    return next((e for e in entries if e.default), entries[0] if entries else None)


def add_to_catalog(path: Path, default: bool = False, folder: Path | None = None, url: str = "") -> CatalogEntry:
    """Add or replace the entry of model file ``path``: a bundled file (which must lie in the catalog folder),
    or with ``url`` a release file published there (its card, size and SHA256 are recorded; it stays out of
    the repository)."""
    folder = bundled_models_dir() if folder is None else Path(folder)
    path = Path(path)
    if url:
        check_url(url, str(path))
    elif path.resolve().parent != folder.resolve():
        raise ModelError(f"{path}: catalog entries must lie in {folder}")
    card = read_card(path)
    catalog_path = folder / CATALOG_FILE
    data = json.loads(catalog_path.read_text()) if catalog_path.exists() else {"format": CATALOG_FORMAT, "models": []}
    models = [m for m in data["models"] if m["name"] != card.name]
    if default:  # one default per mapping
        for m in models:
            if m["card"]["source_contrast"] == card.source_contrast and (
                m["card"]["target_contrast"] == card.target_contrast
            ):
                m["default"] = False
    entry = {"name": card.name, "file": path.name, "sha256": sha256_of(path), "default": default,
             "card": json.loads(card.to_json())}
    models.append({**entry, "url": url, "size": path.stat().st_size} if url else entry)
    data["models"] = sorted(models, key=lambda m: m["name"])
    data["withdrawn"] = [w for w in data.get("withdrawn", []) if w["name"] != card.name]  # bundled again
    _write_catalog(catalog_path, data)
    return next(e for e in load_catalog(folder) if e.name == card.name)


def withdraw_from_catalog(name: str, reason: str, folder: Path | None = None) -> Withdrawn:
    """Remove bundled model ``name`` (its entry and file) and record why in the catalog's ``withdrawn`` list,
    which ``medsynth models`` and the Slicer module show for its mapping."""
    folder = bundled_models_dir() if folder is None else Path(folder)
    catalog_path = folder / CATALOG_FILE
    data = json.loads(catalog_path.read_text())
    entry = next((m for m in data["models"] if m["name"] == name), None)
    if entry is None:
        raise ModelError(f"no bundled model '{name}' in {catalog_path}")
    mapping = ModelCard.from_dict(entry["card"]).mapping
    data["models"] = [m for m in data["models"] if m["name"] != name]
    withdrawn = Withdrawn(name, mapping, reason)
    data["withdrawn"] = [*(w for w in data.get("withdrawn", []) if w["name"] != name), vars(withdrawn)]
    _write_catalog(catalog_path, data)
    (folder / entry["file"]).unlink(missing_ok=True)
    return withdrawn


def _write_catalog(path: Path, data: dict) -> None:
    if not data.get("withdrawn"):
        data.pop("withdrawn", None)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
