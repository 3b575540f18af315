"""``medsynth models``: the bundled model catalog and model cards."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.catalog import bundled_models_dir, find_models, model_kind, resolve_model, withdrawn_models
from ..core.contrasts import canonical_contrast
from ..core.model_file import read_card
from ..core.user_models import HOME_VARIABLE, add_user_model, remove_user_model, user_models, user_models_file
from .common import echo, format_table


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list the models, show a model card, or add your own model file",
        description="List the bundled models and those you added (name, mapping, architecture, engine), or show the "
        "full card of one model (a name or a .safetensors file). Models added here or in the Slicer module are "
        f"offered by both (the list: {user_models_file()}; set {HOME_VARIABLE} to move it); synthesize "
        "takes them by name.",
    )
    p.add_argument("name", nargs="?", default=None, metavar="NAME_OR_FILE", help="show this model's card")
    p.add_argument("--source", default=None, help="only models for this source contrast (e.g. T1)")
    p.add_argument("--target", default=None, help="only models for this target contrast (e.g. T2)")
    p.add_argument("--json", action="store_true", help="print JSON (cards included) instead of a table")
    p.add_argument("--add", type=Path, default=None, metavar="FILE",
                   help="add a model file (trained with `medsynth train`) to the list: its card and weights are "
                        "checked first (nothing is unpickled)")
    p.add_argument("--remove", type=Path, default=None, metavar="FILE", help="take a model file off the list")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.add:
        from ..checkpoint import load_model  # torch: here the weights are checked against the card at once

        added = add_user_model(args.add, check=lambda path: load_model(path).card)
        echo(f"added {added.name} ({added.card.mapping}): {added.path}")
        return 0
    if args.remove:
        remove_user_model(args.remove)
        echo(f"removed {args.remove} from the list (the file is left as it was)")
        return 0
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
    added, problems = user_models()
    added = [m for m in added if (args.source is None or m.card.source_contrast == canonical_contrast(args.source))
             and (args.target is None or m.card.target_contrast == canonical_contrast(args.target))]
    if args.json:
        echo(json.dumps([{"name": e.name, "file": str(e.path), "sha256": e.sha256, "default": e.default,
                          "card": e.card.to_dict()} for e in entries]
                        + [{"name": m.name, "file": str(m.path), "added": True, "card": m.card.to_dict()}
                           for m in added], indent=2))
        return 0
    if not entries and not added:
        echo(f"no models match (catalog folder: {bundled_models_dir()}; added models: {user_models_file()})")
        return 0
    rows = [[e.name + (" *" if e.default else ""),
             model_kind(e.card) + (", download" if e.url and not e.path.exists() else ""), e.card.mapping,
             e.card.architecture, e.card.engine, e.card.description[:60]] for e in entries]
    rows += [[m.name, f"{model_kind(m.card)}, added", m.card.mapping, m.card.architecture, m.card.engine,
              str(m.path)] for m in added]
    echo(format_table(["name", "kind", "mapping", "architecture", "engine", "description"], rows))
    for problem in problems:
        echo(f"not offered: {problem}")
    for withdrawn in withdrawn_models():
        echo(f"withdrawn: {withdrawn.name} ({withdrawn.mapping}): {withdrawn.reason}")
    echo("* default model for its mapping (the demo's); real data: trained on real subjects; phantom demo: trained on "
         "synthetic phantoms, for trying MedSynth out; baseline: a non-learned voxel-wise intensity map; download: a "
         "release file fetched on first use (SHA256-checked) into the user's cache; added: a file you added (here or "
         "in Slicer)")
    return 0
