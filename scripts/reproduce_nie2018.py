#!/usr/bin/env python
"""Reproduce the ablations of Nie et al. 2018 (seeds 001 and 002): 3D GAN variants on one protocol.

Variants, each trained with identical data, patches, epochs and seed through `medsynth train`:

    l2            G1 of seed 002: the generator alone, L2 loss
    adv           seed 001 "Adv" / seed 002 G2: + 0.5 x adversarial
    adv_gdl       seed 001 "Adv+GDL" / seed 002 G3: + gradient difference loss
    l1_adv_gdl    seed 002 G4: L1 instead of L2
    resgan        seed 001 "ResGAN": Adv+GDL with the source added to the output
    resgan_acm    seed 001 "ResGAN+ACM": a two-stage auto-context cascade of ResGANs, trained stage by stage

Directions default to PD->T2 and T2->PD (the seeds'); metrics are PSNR and MAE on the test subjects in
per-subject z-scored intensities rescaled by the real target's range, inside the head mask (and PSNR over
the whole image), next to the three non-learned baselines fitted on the same training subjects. The
seeds' protocol (IXI PD/T2, 32^3 patches, batch 7, 32-filter generator, stride-8 inference):

    .venv/bin/python scripts/reproduce_nie2018.py --data IXI-prepared --split 25 10 18 --stride 8

``--external`` adds a second test set from another dataset (e.g. the MNI templates, for models trained
on phantoms). ``--epochs``, ``--width`` and ``--patches-per-epoch`` shrink the runs to what a machine
allows; the report states them. Finished runs are reused, interrupted ones resumed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _reproduce import add_split_options, folds, write_results
from medsynth.checkpoint import load_model
from medsynth.dataset import find_subjects
from medsynth.training import load_config, train
from medsynth.training.data import discover, load_subject
from medsynth.training.validate import baseline_metrics, evaluate

VARIANTS = {
    "l2": {"loss.adversarial_weight": 0.0, "loss.gdl": 0.0},
    "adv": {"loss.gdl": 0.0},
    "adv_gdl": {},
    "l1_adv_gdl": {"loss.l1": 1.0, "loss.l2": 0.0},
    "resgan": {"model.hyperparameters.residual": True},
    "resgan_acm": {"model.architecture": "nie_cascade", "model.hyperparameters.residual": True},
}
# Test PSNR reported by the seeds: 001 for PD->T2 (IXI), 002 for T2->PD (IXI).
PAPER = {("PD", "T2"): {"adv": 30.86, "adv_gdl": 31.07, "resgan": 31.23, "resgan_acm": 31.36},
         ("T2", "PD"): {"l2": 28.05, "adv": 27.82, "adv_gdl": 29.18, "l1_adv_gdl": 30.20}}
BASELINES = ("identity", "histogram_matching", "joint_histogram")
log = logging.getLogger("reproduce_nie2018")


def settings(args, source, target, variant, split, fold) -> dict:
    w = args.width
    values = {
        "output": str(args.out / f"{source}-{target}" / variant / f"fold{fold}"), "seed": args.seed,
        "device": args.device, "name": f"nie-{variant}-{source}-{target}",
        "data.root": str(args.data), "data.patterns": args.pattern, "data.source": source, "data.target": target,
        "data.subjects": split, "data.patch_size": args.patch_size,
        "model.architecture": "nie", "model.hyperparameters.filters": [w, w, w, 2 * w, 2 * w, 2 * w, w, w, 1],
        "optim.epochs": args.epochs, "optim.batch_size": args.batch_size, "optim.lr": args.lr,
        "optim.patches_per_epoch": args.patches_per_epoch,
        "validation.stride": args.stride, "validation.samples": False,
    }
    values.update(VARIANTS[variant])
    if values["model.architecture"] == "nie_cascade":
        values["model.hyperparameters.stages"] = args.stages
    return values


def run_one(args, source, target, variant, split, fold, external) -> dict[str, float]:
    config = load_config(overrides=settings(args, source, target, variant, split, fold))
    out = Path(config.output)
    done = out / "model.safetensors"
    path = done if done.exists() else train(config, resume=(out / "state.safetensors").exists())
    loaded = load_model(path)
    test = loaded.card.metrics["test"]
    result = {"psnr": test["psnr"], "mae": test["mae"], "whole_psnr": test["whole_psnr"]}
    if external is not None:
        subjects = [load_subject(n, files, external, 3) for n, files in discover(external).items()]
        mean, _, _ = evaluate(loaded.model, subjects, 0, torch.device("cpu"), engine="patchwise",
                              patch_size=args.patch_size, stride=args.stride, blend="gaussian")
        result.update({"external_psnr": mean["psnr"], "external_mae": mean["mae"]})
    return result


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="IXI-style folder or CSV list file")
    parser.add_argument("--pattern", action="append", default=[], help="file pattern ({subject}, {contrast})")
    parser.add_argument("--external", type=Path, help="an extra test dataset (folder or CSV list), e.g. templates")
    parser.add_argument("--external-pattern", action="append", default=[], help="file pattern for --external")
    parser.add_argument("--out", type=Path, default=Path("runs/nie2018"), help="run folders and the report")
    add_split_options(parser, (25, 10, 18))
    parser.add_argument("--directions", nargs="+", default=["PD-T2", "T2-PD"], help="e.g. PD-T2 T1-T2")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=50, help="epochs (per stage for resgan_acm)")
    parser.add_argument("--width", type=int, default=32, help="generator's first filters (32 in the seeds)")
    parser.add_argument("--patch-size", type=int, default=32)
    parser.add_argument("--patches-per-epoch", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=7)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--stages", type=int, default=2, help="auto-context stages of resgan_acm")
    parser.add_argument("--stride", default="full", type=lambda v: v if v == "full" else int(v),
                        help="test-time stride in voxels or 'full' (one whole-volume pass; default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--label", default="", help="dataset description for the report")
    return parser.parse_args()


def main() -> int:
    args = parse()
    logging.basicConfig(level=logging.WARNING)
    subjects = find_subjects(args.data, args.pattern)
    wanted = [tuple(d.split("-")) for d in args.directions]
    present = [(s, t) for s, t in wanted if all(s in f and t in f for f in subjects.values())]
    if not present:
        raise SystemExit(f"{args.data}: no subject set holds both contrasts of any of {wanted}")
    splits = folds(sorted(subjects), args)
    rows, start = [], time.perf_counter()
    mean = lambda values: float(np.mean(values))  # noqa: E731
    for source, target in present:
        data = load_config(overrides={"data.root": str(args.data), "data.patterns": args.pattern,
                                      "data.source": source, "data.target": target}).data
        external = None
        if args.external:
            external = load_config(overrides={"data.root": str(args.external), "data.patterns": args.external_pattern,
                                              "data.source": source, "data.target": target}).data
        for variant in args.variants:
            results = [run_one(args, source, target, variant, split, i, external) for i, split in enumerate(splits)]
            row = {"direction": f"{source}->{target}", "variant": variant,
                   **{k: mean([r[k] for r in results]) for k in results[0]},
                   "paper_psnr": PAPER.get((source, target), {}).get(variant)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        for kind in BASELINES:
            base = [baseline_metrics(data, split["train"], split["test"], 3)[f"baseline {kind}"] for split in splits]
            row = {"direction": f"{source}->{target}", "variant": f"baseline {kind}",
                   "psnr": mean([b["psnr"] for b in base]), "mae": mean([b["mae"] for b in base]),
                   "whole_psnr": float("nan"), "paper_psnr": None}
            if external is not None:
                ext = [baseline_metrics(data, split["train"], sorted(discover(external)), 3, external)
                       [f"baseline {kind}"] for split in splits]
                row.update({"external_psnr": mean([b["psnr"] for b in ext]),
                            "external_mae": mean([b["mae"] for b in ext])})
            rows.append(row)
            print(json.dumps(row), flush=True)
    scheme = f"leave-one-subject-out over {len(subjects)} subjects" if args.loso else f"split {args.split}"
    protocol = (f"{scheme}, {args.epochs} epochs x {args.patches_per_epoch} patches of {args.patch_size}^3, batch "
                f"{args.batch_size}, lr {args.lr}, generator width {args.width}, test stride {args.stride}, "
                f"{time.perf_counter() - start:.0f} s")
    ext = " / external" if args.external else ""
    lines = [f"Data: {args.label or args.data}. Protocol: {protocol}.", "",
             f"| direction | variant | PSNR{ext} (dB) | MAE{ext} | PSNR whole image | paper PSNR |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        psnr, mae = f"{r['psnr']:.2f}", f"{r['mae']:.4f}"
        if args.external:
            psnr, mae = f"{psnr} / {r['external_psnr']:.2f}", f"{mae} / {r['external_mae']:.4f}"
        whole = "" if np.isnan(r["whole_psnr"]) else f"{r['whole_psnr']:.2f}"
        paper = "" if r["paper_psnr"] is None else f"{r['paper_psnr']:.2f}"
        lines.append(f"| {r['direction']} | {r['variant']} | {psnr} | {mae} | {whole} | {paper} |")
    write_results(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
