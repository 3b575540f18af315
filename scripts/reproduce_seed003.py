#!/usr/bin/env python
"""Reproduce the ablation of seed 003: UNIT and its three improvements, trained unpaired.

    .venv/bin/python scripts/reproduce_seed003.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --test TCGA-DU-7294 --work runs/seed003 --out results/seed003

Variants, each trained with identical data, slices, epochs and seed through ``medsynth train --arch unit``:

    unit            UNIT (Liu et al. 2017): shared-latent VAE-GAN, L1 reconstruction
    +sa             self-attention (SAGAN) in the encoder, where the seed found it best
    +sn             spectral normalization on encoder, generator and discriminator
    +charbonnier    the Charbonnier penalty sqrt(x^2 + eps^2) instead of L1
    all             the three together
    cyclegan        CycleGAN (seed 004) on the same unpaired data, for reference (not in the default set)

The training is unpaired: the source contrast comes from some subjects (``--source-subjects``) and the
target from others (``--target-subjects``; by default the subjects other than the test ones, split in two).
Each variant is scored on the paired test subjects it never saw: SSIM (the seed's metric), PSNR and MAE
inside the head, under both intensity conventions (``medsynth.loso``), next to identity, histogram matching
and the joint histogram. The baselines are fitted on every non-test subject's *paired* volumes (the joint
histogram needs pairs the unpaired models never see), so they are, if anything, favoured. ``--epochs``,
``--slices``, ``--ngf`` and ``--size`` set the scale; the report states it. Finished runs are reused.

``--bundle VARIANT`` adds that variant to the bundled catalog as ``real-ARCH-SOURCE-TARGET`` if it beats the best
baseline under both conventions on the test subjects (the rule every real-data model follows); otherwise the
report says by how much it fell short and nothing is bundled.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.inference import InferenceOptions
from medsynth.loso import (
    CONVENTIONS,
    DEFAULT_PATTERNS,
    add_data_arguments,
    baselines,
    bundle,
    load_subjects,
    margins,
    rows_for,
    run_method,
    score,
    train_once,
    write_report,
)
from medsynth.loso import summary as loso_summary
from tqdm import tqdm

VARIANTS = {
    "unit": {},
    "+sa": {"unit.self_attention": "encoder"},
    "+sn": {"unit.spectral_norm": ["encoder", "generator", "discriminator"]},
    "+charbonnier": {"unit.charbonnier": True},
    "all": {"unit.self_attention": "encoder", "unit.spectral_norm": ["encoder", "generator", "discriminator"],
            "unit.charbonnier": True},
    "cyclegan": {"model.architecture": "cyclegan"},
}
ABLATION = [v for v in VARIANTS if v != "cyclegan"]  # the seed's five


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser, several_sources=False)
    parser.add_argument("--test", nargs="+", required=True, help="paired test subject(s), never trained on")
    parser.add_argument("--source-subjects", nargs="+", help="subjects whose source contrast trains the source "
                                                             "domain (default: the first half of the others)")
    parser.add_argument("--target-subjects", nargs="+", help="subjects whose target contrast trains the target "
                                                             "domain (default: the second half of the others)")
    parser.add_argument("--variants", nargs="+", default=ABLATION, choices=list(VARIANTS),
                        help=f"what to train (default: the seed's {', '.join(ABLATION)}; cyclegan for reference)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the seed: up to 100)")
    parser.add_argument("--slices", type=int, default=200, help="source slices drawn per epoch")
    parser.add_argument("--ngf", type=int, default=16, help="encoder width (UNIT's: 64)")
    parser.add_argument("--n-res", type=int, default=3, help="residual blocks per encoder and generator (UNIT's: 4)")
    parser.add_argument("--size", type=int, default=192, help="training window in pixels (the seed: 304 x 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, required=True, help="folder of the training runs (reused if finished)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    parser.add_argument("--bundle", choices=list(VARIANTS), default=None,
                        help="bundle this variant if it beats the best baseline under both conventions")
    parser.add_argument("--catalog", type=Path, default=None,
                        help="catalog folder for --bundle (default: the bundled models of this checkout)")
    return parser.parse_args(argv)


def domains(args: argparse.Namespace, names: list[str]) -> tuple[list[str], list[str]]:
    others = [n for n in names if n not in args.test]
    half = max(len(others) // 2, 1)
    source = args.source_subjects or others[:half]
    target = args.target_subjects or others[half:] or others[-1:]
    return source, target


def trained(variant: str, args: argparse.Namespace, source: list[str], target: list[str]):
    return load_model(train_once({
        "name": f"seed003-{variant}-{args.source}-{args.target}", "output": str(args.work / variant),
        "seed": args.seed, "device": args.device, "model.architecture": "unit", "data.root": str(args.data),
        "data.patterns": args.pattern or DEFAULT_PATTERNS, "data.source": args.source, "data.target": args.target,
        "data.subjects": {"source": source, "target": target, "validation": [], "test": list(args.test)},
        "data.size": args.size, "data.normalization": "percentile", "loss.masked": True,
        "model.hyperparameters": {"ngf": args.ngf, "n_res": args.n_res} if variant != "cyclegan" else
                                 {"ngf": args.ngf, "n_blocks": 2 * args.n_res},  # as many residual blocks
        "model.discriminator_hyperparameters": {"ndf": args.ngf}, "validation.samples": False,
        "optim.epochs": args.epochs, "optim.slices_per_epoch": args.slices, **VARIANTS[variant]}, variant))


def bundle_if_better(args: argparse.Namespace, argv: list[str], rows: list[dict], loaded, scale: str) -> str:
    """Bundle ``args.bundle``'s model if its mean margin over the best baseline is positive under both
    conventions; say what was decided."""
    variant = args.bundle
    found = {c: margins(rows, variant, c) for c in CONVENTIONS}
    mean = {c: float(np.mean(f[1])) for c, f in found.items()}
    shown = ", ".join(f"{mean[c]:+.2f} dB {c} (over {found[c][0]})" for c in CONVENTIONS)
    if not all(m > 0 for m in mean.values()):
        return f"{variant}: not bundled: its mean margins are {shown}"
    architecture = loaded.card.architecture
    name = f"real-{architecture}-{args.source}-{args.target}"
    metrics = {}
    for c in CONVENTIONS:
        mine = [r for r in rows if r["method"] == variant and r["convention"] == c]
        means = {k: float(np.mean([r[k] for r in mine])) for k in ("psnr", "ssim_3d", "mae")}
        metrics[f"test subjects {c}"] = {**means, "subjects": len(mine), "margin_db": mean[c]}
    bundle(loaded, name, (
        f"{architecture} ({variant}: {', '.join(f'{k} {v}' for k, v in VARIANTS[variant].items()) or 'plain'}) for "
        f"{args.source} -> {args.target}, trained unpaired on real skull-stripped subjects; metrics on the paired test "
        "subjects it never saw, with the margin over the best voxel-wise baseline (docs/results.md). " + scale),
        metrics, scale, f"scripts/reproduce_seed003.py {' '.join(argv)}", folder=args.catalog)
    return f"{variant}: bundled as {name}: mean margins {shown}"


def main(argv: list[str]) -> int:
    args = parse(argv)
    args.source, args.target = canonical_contrast(args.source), canonical_contrast(args.target)
    if args.bundle and args.bundle not in args.variants:
        raise SystemExit(f"--bundle {args.bundle}: not among the variants trained ({', '.join(args.variants)})")
    logging.basicConfig(level=logging.WARNING)
    volumes = load_subjects(args.data, args.pattern, [args.source], args.target)
    missing = sorted(set(args.test) - set(volumes))
    if missing:
        raise SystemExit(f"--test: {', '.join(missing)} not among the subjects with {args.source} and {args.target}: "
                         f"{', '.join(volumes)}")
    source, target = domains(args, list(volumes))
    fitted = baselines([volumes[n] for n in volumes if n not in args.test], [args.source], args.target)
    options = InferenceOptions(device=args.device, precision="fp32")  # figures in the reference precision
    rows = []
    models = {v: trained(v, args, source, target) for v in tqdm(args.variants, unit="variant")}
    for held in args.test:
        acquired, reference = volumes[held]
        for method, loaded in {**fitted, **models}.items():
            rows += rows_for(held, method, score(run_method(loaded, acquired, options), reference))
    scale = (f"Scale: {args.epochs} epochs x {args.slices} slices of {args.size} x {args.size}, UNIT width {args.ngf} "
             f"with {args.n_res} residual blocks (the seed: 100 epochs over 900 HCP subjects, width 64); "
             f"{args.source} from {', '.join(source)}, {args.target} from {', '.join(target)} (unpaired); "
             f"tested on {', '.join(args.test)}.")
    lines = loso_summary(rows, args.source, args.target,
                         f"### Seed 003 ablation, {args.source} -> {args.target}: UNIT variants trained unpaired")
    lines += [scale, "", f"`scripts/reproduce_seed003.py {' '.join(argv)}` ({date.today().isoformat()})."]
    if args.bundle:
        lines += ["", bundle_if_better(args, argv, rows, models[args.bundle], scale)]
    write_report(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
