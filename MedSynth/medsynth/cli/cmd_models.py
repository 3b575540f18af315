"""``medsynth models``: the bundled model catalog and model cards."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..catalog import bundled_models_dir, find_models, model_kind, resolve_model, withdrawn_models
from ..model_file import read_card
from .common import echo, format_table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list bundled models or show a model card",
        description="List the bundled models (name, mapping, architecture, engine) or show the full card of one "
        "model (a bundled name or a .safetensors file).",
    )
    p.add_argument("name", nargs="?", default=None, metavar="NAME_OR_FILE", help="show this model's card")
    p.add_argument("--source", default=None, help="only models for this source contrast (e.g. T1)")
    p.add_argument("--target", default=None, help="only models for this target contrast (e.g. T2)")
    p.add_argument("--json", action="store_true", help="print JSON (cards included) instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.name:
        entry = next((e for e in find_models() if e.name == args.name and not Path(args.name).exists()), None)
        if entry is not None and entry.url and not entry.path.exists():  # the card, without downloading
            card = entry.card
            where = f"{entry.url} ({entry.size / 1e6:.1f} MB, downloaded on first use into {entry.path})"
        else:
            path = resolve_model(args.name)
            card, where = read_card(path), str(Path(path))
        echo(card.to_json() if args.json else f"{card.summary()}\n  file: {where}\n\n{card.to_json()}")
        return 0
    entries = find_models(args.source, args.target)
    if args.json:
        echo(json.dumps([{"name": e.name, "file": str(e.path), "sha256": e.sha256, "default": e.default,
                           "card": e.card.to_dict()} for e in entries], indent=2))
        return 0
    if not entries:
        echo(f"no bundled models match (catalog folder: {bundled_models_dir()})")
        return 0
    rows = [[e.name + (" *" if e.default else ""),
             model_kind(e.card) + (", download" if e.url and not e.path.exists() else ""), e.card.mapping,
             e.card.architecture, e.card.engine, e.card.description[:60]] for e in entries]
    echo(format_table(["name", "kind", "mapping", "architecture", "engine", "description"], rows))
    for withdrawn in withdrawn_models():
        echo(f"withdrawn: {withdrawn.name} ({withdrawn.mapping}): {withdrawn.reason}")
    echo("* default model for its mapping (the demo's); real data: trained on real subjects; phantom demo: trained on "
         "synthetic phantoms, for trying MedSynth out; baseline: a non-learned voxel-wise intensity map; download: a "
         "release file fetched on first use (SHA256-checked) into the user's cache")
    return 0
