#!/usr/bin/env python
"""One table from several studies of one mapping and protocol: what each variant gains on unseen subjects.

    .venv/bin/python scripts/ablation_table.py results/study-T1-T2-source/results.csv \\
        results/study-T1-T2-source-nyul/results.csv results/ensembles-T1-T2-source/results.csv \\
        --reference +planes --out results/ablation-T1-T2-source.md

Each ``results.csv`` comes from ``scripts/study_recipes.py`` or ``scripts/study_ensembles.py`` run on the same
subjects and folds (so their baselines agree; the first file's are used). For every method that is not a
baseline: mean PSNR under both conventions, the worst margin over each subject's own best voxel-wise baseline
(the bundling rule's figure, ``medsynth.loso.subject_margins``), the mean difference to ``--reference`` on the
same subjects, the mean sharpness, and the rule's verdict.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.loso import CONVENTIONS, rule_failures, subject_margins

NUMBERS = ("psnr", "ssim_3d", "mae", "sharpness")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="results.csv files of one mapping and protocol")
    parser.add_argument("--reference", default="+planes", help="the method every other is compared with")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    return parser.parse_args(argv)


def read_rows(paths: list[Path]) -> list[dict]:
    """Every file's rows, numbers as floats; a method (baselines included) is taken from the first file holding
    it, and every file must cover the first file's subjects."""
    rows, seen, subjects = [], set(), None
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"{path}: no such results file (a study writes it when all its folds are done)")
        with path.open() as f:
            found = [{**r, **{k: float(r[k]) for k in NUMBERS}} for r in csv.DictReader(f)]
        here = {r["subject"] for r in found}
        subjects = here if subjects is None else subjects
        if here != subjects:
            raise SystemExit(f"{path} holds subjects {sorted(here)}, the first file {sorted(subjects)}: give the "
                             "studies of one protocol only")
        methods = {r["method"] for r in found} - seen
        rows += [r for r in found if r["method"] in methods]
        seen |= methods
    return rows


def table(rows: list[dict], reference: str) -> list[str]:
    methods = [m for m in dict.fromkeys(r["method"] for r in rows) if not m.startswith("baseline ")]
    psnr = {(r["method"], r["subject"], r["convention"]): r["psnr"] for r in rows}
    lines = [f"| method | PSNR own-scale | worst margin own-scale | vs {reference} | PSNR calibrated | "
             f"worst margin calibrated | vs {reference} | sharpness | rule |", "|---" * 9 + "|"]
    for method in methods:
        cells = []
        for convention in CONVENTIONS:
            subjects = sorted(s for m, s, c in psnr if m == method and c == convention)
            mine = np.mean([psnr[method, s, convention] for s in subjects])
            worst = min(m for m, _ in subject_margins(rows, method, convention).values())
            versus = [psnr[method, s, convention] - psnr[reference, s, convention] for s in subjects
                      if (reference, s, convention) in psnr]
            cells += [f"{mine:.2f}", f"{worst:+.2f}", f"{np.mean(versus):+.2f}" if versus else "-"]
        sharp = np.mean([r["sharpness"] for r in rows if r["method"] == method and r["convention"] == CONVENTIONS[0]])
        verdict = "passes" if not rule_failures(rows, method) else "fails"
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {sharp:.2f} | {verdict} |")
    return lines


def main(argv: list[str]) -> int:
    args = parse(argv)
    rows = read_rows(args.results)
    if not any(r["method"] == args.reference for r in rows):
        raise SystemExit(f"no method '{args.reference}' in these results; pick one with --reference")
    lines = [*table(rows, args.reference), "",
             f"`scripts/ablation_table.py {shlex.join(argv)}` ({date.today().isoformat()})."]
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
