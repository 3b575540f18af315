#!/usr/bin/env python
"""Reproduce the table of Mirza et al. 2022 (seed 000): pGAN with and without dense skip connections.

Six one-to-one directions among T1, T2 and PD (those whose contrasts the dataset holds), each trained
twice with identical settings, once with the last ``--dense-blocks`` residual blocks densely connected and
once without; mean PSNR and mean L1 on the test subjects (per-subject min-max normalized intensities,
rescaled to [0, 1], inside the head mask and over the whole image). The three non-learned baselines,
fitted on the same training subjects, are measured the same way.

The seed's protocol (IXI, 25 / 10 / 18 subjects, 100 epochs, ngf 64, 9 blocks) is the default:

    .venv/bin/python scripts/reproduce_mirza2022.py --data IXI-prepared --split 25 10 18

``--loso`` runs leave-one-subject-out instead (for datasets of a few subjects: each subject is the test
subject once, the others train; no validation subject, the last epoch is kept). ``--epochs``, ``--ngf``,
``--slices-per-epoch`` and ``--size`` shrink the runs to what a machine allows; the report states them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
from _reproduce import add_split_options, folds, write_results
from medsynth.core.model_file import read_card
from medsynth.dataset import find_subjects
from medsynth.training import load_config, train
from medsynth.training.validate import baseline_metrics

DIRECTIONS = [("PD", "T1"), ("T1", "PD"), ("T1", "T2"), ("T2", "T1"), ("PD", "T2"), ("T2", "PD")]
# Seed 000, Tables I and II: (PSNR with, PSNR without, L1 with, L1 without)
PAPER = {("PD", "T1"): (28.27, 28.17, 0.01183, 0.01168), ("T1", "PD"): (27.18, 27.02, 0.01427, 0.01534),
         ("T1", "T2"): (27.87, 27.91, 0.01356, 0.01373), ("T2", "T1"): (27.67, 27.66, 0.01215, 0.01256),
         ("PD", "T2"): (32.96, 32.90, 0.00821, 0.00830), ("T2", "PD"): (32.05, 32.00, 0.01000, 0.01003)}
log = logging.getLogger("reproduce_mirza2022")


def run_one(args, source, target, dense, split, fold) -> dict[str, float]:
    out = args.out / f"{source}-{target}" / f"dense{dense}" / f"fold{fold}"
    config = load_config(overrides={
        "output": str(out), "seed": args.seed, "device": args.device, "name": f"pgan-dense{dense}-{source}-{target}",
        "data.root": str(args.data), "data.patterns": args.pattern, "data.source": source, "data.target": target,
        "data.size": args.size, "data.subjects": split,
        "model.hyperparameters": {"ngf": args.ngf, "n_blocks": args.n_blocks, "dense_blocks": dense},
        "model.discriminator_hyperparameters": {"ndf": args.ngf},
        "optim.epochs": args.epochs, "optim.batch_size": args.batch_size,
        "optim.slices_per_epoch": args.slices_per_epoch, "validation.samples": False,
    })
    done = out / "model.safetensors"
    path = done if done.exists() else train(config, resume=(out / "state.safetensors").exists())
    test = read_card(path).metrics["test"]
    return {"psnr": test["psnr"], "l1": test["mae"], "whole_psnr": test["whole_psnr"], "whole_l1": test["whole_mae"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="IXI-style folder or CSV list file")
    parser.add_argument("--pattern", action="append", default=[], help="file pattern ({subject}, {contrast})")
    parser.add_argument("--out", type=Path, default=Path("runs/mirza2022"), help="run folders and the report")
    add_split_options(parser, (25, 10, 18))
    parser.add_argument("--directions", nargs="+", default=None, help="e.g. T1-T2 T2-T1 (default: all six present)")
    parser.add_argument("--dense-blocks", type=int, default=3, help="densely connected last blocks (default 3)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--n-blocks", type=int, default=9)
    parser.add_argument("--size", type=int, default=256, help="training slice window (default 256)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--slices-per-epoch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--label", default="", help="dataset description for the report")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    subjects = find_subjects(args.data, args.pattern)
    wanted = [tuple(d.split("-")) for d in args.directions] if args.directions else DIRECTIONS
    present = [(s, t) for s, t in wanted if all(s in f and t in f for f in subjects.values())]
    if not present:
        raise SystemExit(f"{args.data}: no subject set holds both contrasts of any of {wanted}")
    names = sorted(subjects)
    splits = folds(names, args)
    rows, start = [], time.perf_counter()
    for source, target in present:
        result: dict[str, list] = {}
        for dense in (args.dense_blocks, 0):
            result[dense] = [run_one(args, source, target, dense, split, i) for i, split in enumerate(splits)]
        base = [baseline_metrics(load_config(overrides={"data.root": str(args.data), "data.patterns": args.pattern,
                                                        "data.source": source, "data.target": target}).data,
                                 split["train"], split["test"]) for split in splits]
        mean = lambda values: float(np.mean(values))  # noqa: E731
        row = {"direction": f"{source}->{target}"}
        for dense, label in ((args.dense_blocks, "with"), (0, "without")):
            row[f"psnr_{label}"] = mean([r["psnr"] for r in result[dense]])
            row[f"l1_{label}"] = mean([r["l1"] for r in result[dense]])
            row[f"whole_psnr_{label}"] = mean([r["whole_psnr"] for r in result[dense]])
            row[f"whole_l1_{label}"] = mean([r["whole_l1"] for r in result[dense]])
        for kind in ("identity", "histogram_matching", "joint_histogram"):
            row[f"psnr_{kind}"] = mean([b[f"baseline {kind}"]["psnr"] for b in base])
            row[f"l1_{kind}"] = mean([b[f"baseline {kind}"]["mae"] for b in base])
        paper = PAPER[(source, target)]
        row.update({"paper_psnr_with": paper[0], "paper_psnr_without": paper[1], "paper_l1_with": paper[2],
                    "paper_l1_without": paper[3]})
        rows.append(row)
        print(json.dumps(row))
    scheme = f"leave-one-subject-out over {len(names)} subjects" if args.loso else f"split {args.split}"
    protocol = (f"{scheme}, "
                f"{args.epochs} epochs, ngf {args.ngf}, {args.n_blocks} blocks, dense skips among the last "
                f"{args.dense_blocks}, window {args.size}, slices/epoch {args.slices_per_epoch or 'all'}, "
                f"{time.perf_counter() - start:.0f} s")
    lines = [f"Data: {args.label or args.data}. Protocol: {protocol}.", "",
             "| direction | PSNR with skips | PSNR without | L1 with | L1 without | PSNR whole img with / without | "
             "PSNR identity / hist.match / joint hist. | paper PSNR with / without | paper L1 with / without |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['direction']} | {r['psnr_with']:.2f} | {r['psnr_without']:.2f} | {r['l1_with']:.4f} | "
            f"{r['l1_without']:.4f} | {r['whole_psnr_with']:.2f} / {r['whole_psnr_without']:.2f} | "
            f"{r['psnr_identity']:.2f} / {r['psnr_histogram_matching']:.2f} / {r['psnr_joint_histogram']:.2f} | "
            f"{r['paper_psnr_with']:.2f} / {r['paper_psnr_without']:.2f} | "
            f"{r['paper_l1_with']:.5f} / {r['paper_l1_without']:.5f} |")
    write_results(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
