#!/usr/bin/env python
"""Leave-one-subject-out evaluation on real subjects: models next to the voxel-wise baselines, under both
intensity conventions.

    .venv/bin/python scripts/evaluate_real.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --models real-unet-T1-T2 --out results/real-T1-T2

For each subject of ``--data`` held out in turn, the baselines (identity, histogram matching, joint
histogram, and the joint histogram under the percentile normalization) are fitted on the *other* subjects
and run on it, as is every ``--models`` entry (a bundled name or a model file; ``--exclude-trained`` leaves
out, per model, the subjects its card says it was trained on).
Each result is compared with the subject's real target inside the reference's foreground under both
conventions of ``medsynth.core.conventions``, applied to every method alike:

- ``own-scale``: each image mapped by its own 1st-99th percentile inside the mask;
- ``calibrated``: the synthetic image fitted to the reference by a least-squares line inside the mask.

Writes ``results.csv`` (one row per subject, method and convention), ``results.md`` (per-subject rows, mean
and SD, and each model's margin over the best baseline per convention) and prints the summary table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from medsynth.checkpoint import load_model
from medsynth.core.catalog import resolve_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.inference import InferenceOptions
from medsynth.loso import (
    add_data_arguments,
    baselines,
    load_subjects,
    rows_for,
    run_method,
    score,
    summary,
    write_report,
)
from tqdm import tqdm


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--models", nargs="*", default=[], help="bundled model names or model files to evaluate")
    parser.add_argument("--exclude-trained", nargs="*", default=[], metavar="MODEL=SUBJECT[,SUBJECT]",
                        help="subjects a model was trained on, left out of its rows (it has seen them); the ones "
                             "its card's training split names are left out in any case")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    return parser.parse_args(argv)


def trained_on(entries: list[str]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for entry in entries:
        model, _, subjects = entry.partition("=")
        seen[model] = set(filter(None, subjects.split(",")))
    return seen


def run(args: argparse.Namespace) -> list[dict]:
    inputs, target = [canonical_contrast(c) for c in args.source], canonical_contrast(args.target)
    volumes = load_subjects(args.data, args.pattern, inputs, target)
    models = {name: load_model(resolve_model(name)) for name in args.models}
    seen = trained_on(args.exclude_trained)
    for name, loaded in models.items():  # what the card says it was trained or validated on
        split = loaded.card.training.get("split", {}) if isinstance(loaded.card.training, dict) else {}
        seen.setdefault(name, set()).update(s for key in ("train", "validation") for s in split.get(key, []))
    options = InferenceOptions(device=args.device, precision="fp32")  # figures in the reference precision
    rows = []
    for held in tqdm(sorted(volumes), unit="subject", desc=f"{'+'.join(inputs)}->{target}"):
        methods = baselines([subject for name, subject in volumes.items() if name != held], inputs, target)
        methods.update({name: loaded for name, loaded in models.items() if held not in seen.get(name, set())})
        acquired, reference = volumes[held]
        for method, loaded in methods.items():
            rows += rows_for(held, method, score(run_method(loaded, acquired, options), reference))
    return rows


def main(argv: list[str]) -> int:
    args = parse(argv)
    rows = run(args)
    lines = summary(rows, "+".join(canonical_contrast(c) for c in args.source), canonical_contrast(args.target))
    lines.append(f"`scripts/evaluate_real.py {' '.join(argv)}` ({date.today().isoformat()}).")
    write_report(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
