"""Helpers shared by the paper reproduction scripts: subject folds and result files."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def folds(names: list[str], args: argparse.Namespace) -> list[dict[str, list[str]]]:
    """Leave-one-subject-out folds (``args.loso``; no validation subject) or one seeded ``args.split``."""
    if args.loso:
        return [{"train": [n for n in names if n != held], "validation": [], "test": [held]} for held in names]
    n_train, n_val, n_test = args.split
    if n_train + n_val + n_test > len(names):
        raise SystemExit(f"--split {args.split} needs {sum(args.split)} subjects, the dataset has {len(names)}")
    order = [names[i] for i in np.random.default_rng(args.seed).permutation(len(names))]
    return [{"train": order[:n_train], "validation": order[n_train:n_train + n_val],
             "test": order[n_train + n_val:n_train + n_val + n_test]}]


def add_split_options(parser: argparse.ArgumentParser, default_split: tuple[int, int, int]) -> None:
    parser.add_argument("--split", type=int, nargs=3, default=default_split, metavar=("TRAIN", "VAL", "TEST"),
                        help=f"subjects for training, validation and test, drawn with --seed (default {default_split})")
    parser.add_argument("--loso", action="store_true", help="leave-one-subject-out instead of --split")


def write_results(out: Path, rows: list[dict], lines: list[str]) -> None:
    """``results.csv`` (every number) and ``results.md`` (the table for docs/results.md)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.md").write_text("\n".join(lines) + "\n")
