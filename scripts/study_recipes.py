#!/usr/bin/env python
"""Which training recipe generalizes from few real subjects: a leave-one-subject-out ablation.

    .venv/bin/python scripts/study_recipes.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --out results/study-T1-T2 --work runs/study-T1-T2 --uncertainty

Each recipe adds one ingredient to the one before it (an ablation by accumulation):

- ``seed000``: seed 000's min-max normalization over the volume, light gamma/gain jitter, L1 everywhere,
  axial slices;
- ``+percentile``: the foreground's 1st-99th percentiles to [-1, 1] (``data.normalization: percentile``);
- ``+scanner``: strong input-intensity augmentation, simulating other protocols (random monotone curves,
  bias fields, stronger gamma: ``augment.curve``, ``augment.bias_field``, ``augment.intensity``);
- ``+masked``: L1 inside the head only, background set at inference (``loss.masked``);
- ``+2.5D``: one neighbouring slice on each side as input channels (``data.context: 1``);
- ``+planes``: slices of all three planes, the three directions fused at inference (``data.plane: all``).

Two inference-time variants of the last recipe reuse its models: ``+calibration`` (the output's histogram
inside the head mapped to the training targets', stored in the card) and ``+flip ensemble`` (the mean of
the test-time ensemble, with and without a left-right flip). For every subject held out in turn, each
recipe is trained with ``medsynth train`` on the *other* subjects (no validation subject, last epoch kept)
and scored on it next to the voxel-wise baselines fitted on the same subjects, under both conventions
(``medsynth.loso``). ``--folds source`` holds out every subject of one source at a time instead
(leave-one-source-out: what a user at a new site gets); a fold whose training subjects equal those of an
earlier fold reuses its run. ``--uncertainty`` adds the test-time-ensemble uncertainty of the last recipe: the
Spearman correlation between its SD and the absolute error, and the mean error of the top-decile-SD voxels
against the rest. Finished runs in ``--work`` are reused, so an interrupted study resumes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.core.conventions import own_scale
from medsynth.inference import InferenceOptions, synthesize_with_uncertainty
from medsynth.loso import (
    DEFAULT_PATTERNS,
    add_data_arguments,
    baselines,
    folds,
    load_subjects,
    rows_for,
    run_method,
    score,
    summary,
    train_once,
    write_report,
)
from medsynth.mask import foreground_mask
from medsynth.training.recipes import GENERALIZATION, REAL_DATA_NETWORK, generalization_recipe
from scipy.stats import spearmanr
from tqdm import tqdm

RECIPES = GENERALIZATION


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), type=recipe_name, metavar="RECIPE",
                        help=f"recipes to train: {', '.join(RECIPES)} (each holds every ingredient before it; default: "
                             "all), or one with ingredients left out again, e.g. +planes-percentile-scanner")
    net = REAL_DATA_NETWORK  # the defaults: what the bundled real-data models are trained with
    parser.add_argument("--epochs", type=int, default=net["optim.epochs"],
                        help="epochs per run (half of them with a decaying rate)")
    parser.add_argument("--slices", type=int, default=net["optim.slices_per_epoch"],
                        help="training slices drawn per epoch")
    parser.add_argument("--batch-size", type=int, default=net["optim.batch_size"], help="slices per update")
    parser.add_argument("--ngf", type=int, default=net["model.hyperparameters"]["ngf"],
                        help="U-Net width (filters of its first stage)")
    parser.add_argument("--size", type=int, default=net["data.size"],
                        help="training window in pixels (a multiple of 64)")
    parser.add_argument("--lr", type=float, default=net["optim.lr"], help="Adam learning rate (pix2pix's 2e-4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run")
    parser.add_argument("--folds", choices=("subject", "source"), default="subject",
                        help="hold out one subject at a time (default), or every subject of one source (site, "
                             "challenge, preprocessing) at a time: leave-one-source-out")
    parser.add_argument("--only", metavar="TEXT", default=None,
                        help="run only the folds whose name contains TEXT (a held-out subject, or a source such as "
                             "CBICA with --folds source)")
    parser.add_argument("--uncertainty", action="store_true",
                        help="measure the last recipe's test-time-ensemble uncertainty against its error")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--work", type=Path, required=True, help="folder of the training runs (reused if finished)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    return parser.parse_args(argv)


def recipe_name(text: str) -> str:
    try:
        generalization_recipe(text)
    except KeyError as exc:
        raise argparse.ArgumentTypeError(str(exc.args[0])) from None
    return text


def overrides(recipe: str, args: argparse.Namespace, data: Path, train_on: list[str], held: list[str]) -> dict:
    """The ``medsynth train`` settings of ``recipe`` on ``train_on``: the common ones, then every ingredient up
    to and including the recipe's own."""
    settings = {
        **REAL_DATA_NETWORK,
        "name": f"study-{recipe}-{'+'.join(args.inputs)}-{args.target}",
        "output": str(run_folder(args.work, recipe, held)),
        "seed": args.seed, "device": args.device, "data.root": str(data),
        "data.patterns": args.pattern or DEFAULT_PATTERNS, "data.source": args.inputs[0],
        **({"data.sources": args.inputs} if len(args.inputs) > 1 else {}), "data.target": args.target,
        "data.size": args.size, "data.subjects": {"train": train_on, "validation": [], "test": []},
        "model.hyperparameters": {"ngf": args.ngf, "num_downs": 6},
        "model.discriminator_hyperparameters": {"ndf": args.ngf},
        "optim.epochs": args.epochs, "optim.slices_per_epoch": args.slices, "optim.batch_size": args.batch_size,
        "optim.lr": args.lr,
    }
    return {**settings, **generalization_recipe(recipe)}


def run_folder(work: Path, recipe: str, held: list[str]) -> Path:
    """Where a study keeps the run of ``recipe`` that never saw ``held``: equal folds share a run."""
    return work / recipe / "+".join(held)


def finished_model(work: Path, recipe: str, held: list[str]) -> Path:
    """That run's model file; a run not trained yet is an error saying how to train it."""
    model = run_folder(work, recipe, held) / "model.safetensors"
    if not model.exists():
        raise SystemExit(f"{model} is missing: run scripts/study_recipes.py --work {work} --recipes {recipe} first")
    return model


def trained(recipe: str, args: argparse.Namespace, train_on: list[str], held: list[str], fold: str):
    """The recipe's model for a fold: the finished run's, or trained now."""
    return load_model(train_once(overrides(recipe, args, args.data, train_on, held), f"{recipe} {fold}"))


def uncertainty_figures(result, reference, seconds: dict[str, float]) -> dict[str, float]:
    """How well the ensemble's SD flags error, inside the reference's foreground (own-scale errors)."""
    mask = foreground_mask(reference.array)
    error = np.abs(own_scale(result.image.array, mask) - own_scale(reference.array, mask))[mask]
    sd = result.uncertainty.array[mask]
    pick = np.random.default_rng(0).permutation(sd.size)[:200_000]  # Spearman on a large random sample
    top = sd >= np.quantile(sd, 0.9)
    return {"spearman": float(spearmanr(sd[pick], error[pick]).statistic), "top_decile_error": float(error[top].mean()),
            "rest_error": float(error[~top].mean()), **seconds}


def run(args: argparse.Namespace) -> tuple[list[dict], dict[str, dict[str, float]]]:
    inputs, target = args.inputs, args.target
    volumes = load_subjects(args.data, args.pattern, inputs, target)
    plain, calibrated = (InferenceOptions(device=args.device, calibrate=flag, precision="fp32")  # figures in fp32
                         for flag in (False, True))
    flip = InferenceOptions(device=args.device, calibrate=False, precision="fp32", uncertainty="flip")
    rows, flagged = [], {}
    last = args.recipes[-1]
    made = [fold for fold in folds(volumes, args.folds) if args.only is None or args.only in fold[0]]
    if not made:
        raise SystemExit(f"no fold's name contains '{args.only}'; the folds: "
                         f"{', '.join(f[0] for f in folds(volumes, args.folds))}")
    for fold, held_out, train_on in tqdm(made, unit="fold", desc=f"{'+'.join(inputs)}->{target}"):
        fitted = baselines([volumes[n] for n in train_on], inputs, target)
        models = {recipe: trained(recipe, args, train_on, held_out, fold) for recipe in args.recipes}
        for held in held_out:
            acquired, reference = volumes[held]
            for method, loaded in fitted.items():
                rows += rows_for(held, method, score(run_method(loaded, acquired, plain), reference))
            for recipe, loaded in models.items():
                start = time.perf_counter()
                image = run_method(loaded, acquired, plain)
                seconds = {"seconds": time.perf_counter() - start}
                rows += rows_for(held, recipe, score(image, reference))
                if recipe != last:
                    continue
                rows += rows_for(held, f"{recipe} +calibration",
                                 score(run_method(loaded, acquired, calibrated), reference))
                start = time.perf_counter()
                ensemble = synthesize_with_uncertainty([acquired[c] for c in inputs], loaded, flip)
                seconds["ensemble_seconds"] = time.perf_counter() - start
                rows += rows_for(held, f"{recipe} +flip ensemble", score(ensemble.image, reference))
                if args.uncertainty:
                    flagged[held] = uncertainty_figures(ensemble, reference, seconds)
    return rows, flagged


def uncertainty_lines(flagged: dict[str, dict[str, float]], recipe: str) -> list[str]:
    if not flagged:
        return []
    lines = [f"**Uncertainty of {recipe}** (SD over the test-time ensemble; own-scale absolute error inside the "
             "reference's foreground)", "",
             "| held-out subject | Spearman(SD, error) | mean error, top-decile SD | mean error, other voxels | "
             "ratio | synthesis s | with uncertainty s |", "|---|---|---|---|---|---|---|"]
    for held, f in flagged.items():
        lines.append(f"| {held} | {f['spearman']:.3f} | {f['top_decile_error']:.4f} | {f['rest_error']:.4f} | "
                     f"{f['top_decile_error'] / f['rest_error']:.2f} | {f['seconds']:.1f} | "
                     f"{f['ensemble_seconds']:.1f} |")
    mean = {k: np.mean([f[k] for f in flagged.values()]) for k in next(iter(flagged.values()))}
    lines += [f"| mean | {mean['spearman']:.3f} | {mean['top_decile_error']:.4f} | {mean['rest_error']:.4f} | "
              f"{mean['top_decile_error'] / mean['rest_error']:.2f} | {mean['seconds']:.1f} | "
              f"{mean['ensemble_seconds']:.1f} |", ""]
    return lines


def main(argv: list[str]) -> int:
    args = parse(argv)
    args.inputs, args.target = [canonical_contrast(c) for c in args.source], canonical_contrast(args.target)
    logging.basicConfig(level=logging.WARNING)
    rows, flagged = run(args)
    mapping = "+".join(args.inputs)
    protocol = "leave-one-subject-out" if args.folds == "subject" else "leave-one-source-out"
    lines = summary(rows, mapping, args.target,
                    f"### {mapping} -> {args.target}: training recipes, {protocol} on "
                    f"{len({r['subject'] for r in rows})} real subjects")
    lines += uncertainty_lines(flagged, args.recipes[-1])
    lines.append(f"`scripts/study_recipes.py {' '.join(argv)}` ({date.today().isoformat()}).")
    write_report(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
