#!/usr/bin/env python
"""Leave-one-subject-out evaluation on real subjects: models next to the voxel-wise baselines, under both
intensity conventions.

    .venv/bin/python scripts/evaluate_real.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --models real-pgan-T1-T2 --out results/real-T1-T2

For each subject of ``--data`` held out in turn, the three baselines (identity, histogram matching, joint
histogram) are fitted on the *other* subjects and run on it, as is every ``--models`` entry (a bundled name
or a model file; ``--exclude-trained`` leaves out, per model, the subjects its card says it was trained on).
Each result is compared with the subject's real target inside the reference's foreground under both
conventions of ``medsynth.conventions``, applied to every method alike:

- ``own-scale``: each image mapped by its own 1st-99th percentile inside the mask;
- ``calibrated``: the synthetic image fitted to the reference by a least-squares line inside the mask.

Writes ``results.csv`` (one row per subject, method and convention), ``results.md`` (per-subject rows, mean
and SD, and each model's margin over the best baseline per convention) and prints the summary table.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.baselines import BASELINES, fit_baseline
from medsynth.catalog import resolve_model
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.contrasts import canonical_contrast
from medsynth.dataset import find_subjects, require_contrasts
from medsynth.inference import InferenceOptions, synthesize
from medsynth.io import atomic_output, read_volume
from medsynth.pipeline import evaluate_conventions
from tqdm import tqdm

CONVENTIONS = ("own-scale", "calibrated")
METRICS = ("psnr", "ssim_3d", "mae")
SHORT = {"identity": "identity", "histogram_matching": "histmatch", "joint_histogram": "jointhist"}
DEFAULT_PATTERNS = ["{subject}/{subject}_{contrast}_bet_normalized.nii.gz", "{subject}/{subject}-000-{contrast}.nii.gz",
                    "{subject}/{subject}-{contrast}.nii.gz"]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder of real subjects (co-registered contrasts)")
    parser.add_argument("--pattern", action="append", default=None,
                        help="file pattern with {subject} and {contrast} (repeatable; default: the layouts of "
                             "../shared/data/multicontrast)")
    parser.add_argument("--source", required=True, help="acquired contrast, e.g. T1")
    parser.add_argument("--target", required=True, help="contrast to synthesize, e.g. T2")
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


def evaluate(synthetic, reference) -> dict[str, dict[str, float]]:
    evaluations = evaluate_conventions(synthetic, reference, conventions=CONVENTIONS)
    return {convention: evaluation.metrics["mask"] for convention, evaluation in evaluations.items()}


def run(args: argparse.Namespace) -> list[dict]:
    source, target = canonical_contrast(args.source), canonical_contrast(args.target)
    subjects = find_subjects(args.data, args.pattern or DEFAULT_PATTERNS)
    subjects = {name: files for name, files in subjects.items() if source in files and target in files}
    require_contrasts(subjects, [source, target], args.data)
    if len(subjects) < 2:
        raise SystemExit(f"{args.data}: leave-one-subject-out needs 2 or more subjects with {source} and {target}")
    volumes = {name: (read_volume(files[source]), read_volume(files[target])) for name, files in subjects.items()}
    models = {name: load_model(resolve_model(name)) for name in args.models}
    seen = trained_on(args.exclude_trained)
    for name, loaded in models.items():  # what the card says it was trained or validated on
        split = loaded.card.training.get("split", {}) if isinstance(loaded.card.training, dict) else {}
        seen.setdefault(name, set()).update(s for key in ("train", "validation") for s in split.get(key, []))
    options = InferenceOptions(device=args.device)
    rows = []
    for held in tqdm(sorted(volumes), unit="subject", desc=f"{source}->{target}"):
        train = [(s, t, None) for name, (s, t) in volumes.items() if name != held]
        methods: dict[str, LoadedModel] = {}
        for kind in BASELINES:
            model, card = fit_baseline(kind, train, source, target)
            methods[f"baseline {SHORT[kind]}"] = LoadedModel(model.eval(), card)
        for name, loaded in models.items():
            if held not in seen.get(name, set()):
                methods[name] = loaded
        acquired, reference = volumes[held]
        for method, loaded in methods.items():
            result = evaluate(synthesize(acquired, loaded, options), reference)
            for convention, values in result.items():
                rows.append({"subject": held, "method": method, "convention": convention,
                             **{k: float(values[k]) for k in METRICS}})
    return rows


def summary(rows: list[dict], source: str, target: str) -> list[str]:
    """The markdown report: per-subject PSNR, mean and SD of every metric, and margins over the best baseline."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    subjects = sorted({r["subject"] for r in rows})
    lines = [f"### {source} -> {target}: leave-one-subject-out on {len(subjects)} real subjects", ""]
    for convention in CONVENTIONS:
        picked = [r for r in rows if r["convention"] == convention]
        lines += [f"**{convention}** (inside the reference's foreground)", "",
                  "| method | " + " | ".join(f"PSNR {s}" for s in subjects) + " | PSNR mean ± SD | SSIM mean ± SD | "
                  "MAE mean ± SD |", "|---" * (len(subjects) + 4) + "|"]
        means = {}
        for method in methods:
            mine = {r["subject"]: r for r in picked if r["method"] == method}
            cells = [f"{mine[s]['psnr']:.2f}" if s in mine else "(trained on)" for s in subjects]
            stats = {k: (np.mean([m[k] for m in mine.values()]), np.std([m[k] for m in mine.values()], ddof=1)
                         if len(mine) > 1 else 0.0) for k in METRICS}
            means[method] = {s: mine[s]["psnr"] for s in mine}
            lines.append(f"| {method} | " + " | ".join(cells) + " | " + " | ".join(
                f"{stats[k][0]:.{2 if k == 'psnr' else 3 if k == 'ssim_3d' else 4}f} ± "
                f"{stats[k][1]:.{2 if k == 'psnr' else 3 if k == 'ssim_3d' else 4}f}" for k in METRICS) + " |")
        baselines = [m for m in methods if m.startswith("baseline ")]
        best = max(baselines, key=lambda m: np.mean(list(means[m].values())))
        lines += ["", f"Best baseline over all subjects: {best}."]
        for method in methods:
            if method in baselines or not means[method]:
                continue
            common = sorted(means[method])  # the best baseline on the subjects this model has not seen
            rival = max(baselines, key=lambda m: np.mean([means[m][s] for s in common]))
            margins = [means[method][s] - means[rival][s] for s in common]
            lines.append(f"Margin of {method} over {rival} (the best baseline on its {len(common)} unseen subjects): "
                         f"{np.mean(margins):+.2f} dB mean (per subject {', '.join(f'{m:+.2f}' for m in margins)}).")
        lines.append("")
    return lines


def main(argv: list[str]) -> int:
    args = parse(argv)
    rows = run(args)
    lines = summary(rows, canonical_contrast(args.source), canonical_contrast(args.target))
    lines.append(f"`scripts/evaluate_real.py {' '.join(argv)}` ({date.today().isoformat()}).")
    args.out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(args.out / "results.csv") as tmp:
        tmp.write_text(buffer.getvalue())
    with atomic_output(args.out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
