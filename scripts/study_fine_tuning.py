#!/usr/bin/env python
"""Site adaptation: does fine-tuning on one subject of a new site help on another subject of that site?

    .venv/bin/python scripts/study_fine_tuning.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --base BraTS-MET-00110 CSTAR-stroke01 --tune TCGA-FG-6692 --test TCGA-DU-7294 --out results/fine-tune-T1-T2

The two TCGA subjects share one preprocessing pipeline (a "site"). Three models of the real-data recipe
(``medsynth.training.recipes``) are compared on ``--test``:

- **no fine-tuning**: trained on the ``--base`` subjects only (the other sites);
- **fine-tuned**: that model after ``medsynth train --init`` on the one ``--tune`` subject (the short recipe:
  10 epochs at 5e-5);
- **from scratch**: the recipe trained on the ``--tune`` subject alone;

next to the voxel-wise baselines fitted on the ``--tune`` subject and on base + tune, under both conventions.
Finished runs in ``--work`` are reused.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from medsynth.checkpoint import load_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.inference import InferenceOptions
from medsynth.loso import (
    DEFAULT_PATTERNS,
    add_data_arguments,
    baselines,
    load_subjects,
    rows_for,
    run_method,
    score,
    summary,
    train_once,
    write_report,
)
from medsynth.training.config import parse_override
from medsynth.training.recipes import REAL_DATA_NETWORK, generalization_recipe

RECIPE = "+planes"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser, several_sources=False)
    parser.add_argument("--base", nargs="+", required=True, help="subjects of the other sites (the base model's)")
    parser.add_argument("--tune", required=True, help="the new site's subject to fine-tune (or train) on")
    parser.add_argument("--test", required=True, help="another subject of the new site, for the figures")
    parser.add_argument("--tune-epochs", type=int, default=10, help="fine-tuning epochs (the --init recipe's 10)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a training setting for all three runs (e.g. --set optim.epochs=4), as medsynth train")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--work", type=Path, default=Path("runs/fine-tune"), help="run folders (reused if finished)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    return parser.parse_args(argv)


def run_training(name: str, args: argparse.Namespace, subjects: list[str], **extra) -> Path:
    settings = {**REAL_DATA_NETWORK, **generalization_recipe(RECIPE), "name": name, "output": str(args.work / name),
                "device": args.device, "data.root": str(args.data),
                "data.patterns": args.pattern or DEFAULT_PATTERNS, "data.source": args.source,
                "data.target": args.target, "data.subjects": {"train": subjects, "validation": [], "test": []},
                **dict(parse_override(text) for text in args.overrides), **extra}
    return train_once(settings, name)


def main(argv: list[str]) -> int:
    args = parse(argv)
    args.source, args.target = canonical_contrast(args.source), canonical_contrast(args.target)
    volumes = load_subjects(args.data, args.pattern, [args.source], args.target)
    base = run_training("no-fine-tuning", args, list(args.base))
    models = {
        "no fine-tuning (other sites)": base,
        "fine-tuned on the site's subject": run_training(
            "fine-tuned", args, [args.tune], init=str(base), **{"optim.epochs": args.tune_epochs, "optim.lr": 5e-5}),
        "from scratch on the site's subject": run_training("from-scratch", args, [args.tune]),
    }
    acquired, reference = volumes[args.test]
    options = InferenceOptions(device=args.device, calibrate=False, precision="fp32")
    rows = []
    for label, train_on in (("site subject", [args.tune]), ("all", [*args.base, args.tune])):
        for method, loaded in baselines([volumes[s] for s in train_on], [args.source], args.target).items():
            rows += rows_for(args.test, f"{method} ({label})", score(run_method(loaded, acquired, options), reference))
    for method, path in models.items():
        rows += rows_for(args.test, method, score(run_method(load_model(path), acquired, options), reference))
    lines = summary(rows, args.source, args.target,
                    f"### {args.source} -> {args.target}: fine-tuning on {args.tune}, tested on {args.test}")
    lines.append(f"`scripts/study_fine_tuning.py {' '.join(argv)}` ({date.today().isoformat()}).")
    write_report(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
