#!/usr/bin/env python
"""Train the bundled generators and add them to the catalog (reproduces each bundled model).

    .venv/bin/python scripts/train_bundled.py real-T1-T2 --data ../shared/data/multicontrast \
        --loso-results results/study-T1-T2/results.csv
    .venv/bin/python scripts/train_bundled.py phantom-T1-T2 phantom-T2-T1
    .venv/bin/python scripts/train_bundled.py phantom-nie-PD-T2        # Nie et al.'s 3D GAN, patch mode

``real-*``: a 2.5D U-Net trained with the whole generalization recipe (``medsynth.training.recipes``:
percentile normalization, scanner simulation, masked L1, one context slice, all three planes, output
calibration; ``--recipe`` adds variants such as ``+planes+nyul``, ``--real-ngf`` sets its width) on *every*
real subject in DATA (no validation subject: the last epoch is kept). Its quality figures are those of the
same recipe and width left-one-subject-out (``--loso-results``, the results.csv of ``scripts/study_recipes.py``)
and, with ``--source-results``, left-one-source-out, stored in the card next to the baselines; a mapping whose
recipe does not beat each subject's best voxel-wise baseline on every unseen subject under both conventions,
in either protocol, is refused (``medsynth.loso.rule_failures``; ``--force`` bundles it anyway).
``phantom-*``: phantom subjects at IXI's grid (256x256x150), seed 1000 for training, 2000 for
validation and test (``phantom-T1-T1_7T``: paired 3 T / 7 T phantom subjects, ``medsynth phantom --field 3
--contrasts T1 T2 T1_7T T2_7T``). Each model's card gets its test metrics next to the three non-learned baselines fitted
on the same training subjects and measured the same way (normalized intensities, head mask). Weights are
stored as float16. On this project's 2-core CPU the generator width is reduced (``--ngf``, default 16;
``--nie-width``, default 8 instead of 32); the card says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model, save_model
from medsynth.core.catalog import add_to_catalog, bundled_models_dir
from medsynth.core.contrasts import split_contrast
from medsynth.core.options import UNCERTAINTY_METHODS
from medsynth.dataset import find_subjects
from medsynth.loso import DEFAULT_PATTERNS, margins, rule_failures, subject_margins
from medsynth.phantom import write_phantom_dataset
from medsynth.training import load_config, train
from medsynth.training.recipes import REAL_DATA_NETWORK, generalization_recipe
from medsynth.training.validate import baseline_metrics
from tqdm import tqdm

CHOICES = ("real-T1-T2", "real-T2-T1", "real-T2-FLAIR", "real-T1-FLAIR", "real-T1+T2-FLAIR", "phantom-T1-T2",
           "phantom-T2-T1", "phantom-nie-PD-T2", "phantom-T1-T1_7T")


def configure(which: str, args: argparse.Namespace) -> dict:
    kind, *arch, source, target = which.split("-")
    common = {
        "name": f"{'real' if kind == 'real' else 'phantom'}-{arch[0] if arch else 'pgan'}-{source}-{target}",
        "output": str(args.work / which), "seed": args.seed, "device": args.device,
        "data.source": source, "data.target": target, "data.plane": "axial",
        "model.hyperparameters": {"ngf": args.ngf, "n_blocks": 9, "dense_blocks": 0},
        "model.discriminator_hyperparameters": {"ndf": args.ngf},
        "optim.epochs": args.epochs, "optim.batch_size": 2,
    }
    if kind == "real":
        inputs = source.split("+")
        data = {"data.root": str(args.data), "data.patterns": DEFAULT_PATTERNS, "data.source": inputs[0],
                "data.target": target, **({"data.sources": inputs} if len(inputs) > 1 else {})}
        found = find_subjects(args.data, DEFAULT_PATTERNS)  # every subject that holds the mapping's contrasts
        names = sorted(n for n, files in found.items() if all(c in files for c in (*inputs, target)))
        return {**REAL_DATA_NETWORK, **generalization_recipe(args.recipe), **data,
                "model.hyperparameters": {"ngf": args.real_ngf, "num_downs": 6},
                "model.discriminator_hyperparameters": {"ndf": args.real_ngf},
                "name": f"real-unet-{source}-{target}", "output": str(args.work / which), "seed": args.seed,
                "device": args.device, "data.subjects": {"train": names, "validation": [], "test": []}}
    seven = target.endswith("_7T")  # paired 3 T / 7 T phantom subjects (the 3 T images at a coarser resolution)
    folder = args.work / ("phantoms-3t-7t" if seven else "phantoms")
    listing = folder / "subjects.csv"
    if not listing.exists():
        settings = dict(shape=(256, 256, 150), contrasts=("T1", "T2", "PD"), overwrite=True)  # IXI grid
        if seven:
            settings.update(contrasts=("T1", "T2", "T1_7T", "T2_7T"), field=3.0)
        write_phantom_dataset(folder / "train", args.phantoms, seed=1000, **settings)
        write_phantom_dataset(folder / "heldout", 2, seed=2000, **settings)
        rows = ["subject,contrast,path"]
        for part in ("train", "heldout"):
            for path in sorted((folder / part).glob("*.nii.gz")):
                subject, contrast = split_contrast(path.name[: -len(".nii.gz")]) or path.name[:-7].rsplit("-", 1)
                rows.append(f"{part}-{subject},{contrast},{part}/{path.name}")
        listing.write_text("\n".join(rows) + "\n")
    names = [f"train-phantom{i:03d}" for i in range(1, args.phantoms + 1)]
    if arch == ["nie"]:
        w = args.nie_width
        common.update({"model.architecture": "nie", "model.hyperparameters": {"filters": [w, w, w, 2 * w, 2 * w, 2 * w,
                                                                                          w, w, 1]},
                       "model.discriminator_hyperparameters": {}, "optim.batch_size": 7, "optim.lr": args.lr,
                       "optim.patches_per_epoch": args.patches, "validation.every": args.validate_every,
                       "loss.adversarial_weight": args.nie_adversarial})
    return {**common, "data.root": str(listing), "data.size": 224,
            "data.subjects": {"train": names, "validation": ["heldout-phantom001"], "test": ["heldout-phantom002"]},
            "optim.slices_per_epoch": args.slices}


def loso_figures(results: Path | None, which: str, recipe: str,
                 keep: bool | None = None) -> tuple[dict[str, dict], bool, list[str]]:
    """Per convention: the recipe's left-out mean PSNR, SSIM, MAE and sharpness, the best baseline, and the
    margins, from a study's results.csv; and whether the output calibration is kept (only if it raises the
    worst subject's margin under one convention and lowers it under neither, so the bundled model does what
    was measured; ``keep`` imposes the choice)."""
    if results is None or not results.exists():
        raise SystemExit(f"{which}: give the recipe's leave-one-subject-out results (--loso-results results.csv of "
                         "scripts/study_recipes.py): a real-data model is bundled only if it beats the baselines")
    with results.open() as f:
        rows = [{**r, **{k: float(r[k]) for k in ("psnr", "ssim_3d", "mae", "sharpness") if k in r}}
                for r in csv.DictReader(f)]
    calibrated = f"{recipe} +calibration"
    found = [margins(rows, m, c) for m in (recipe, calibrated) for c in ("own-scale", "calibrated")]
    if any(f is None for f in found):
        raise SystemExit(f"{results}: no rows for recipe {recipe} (and its calibration)")
    if keep is None:  # judged as the rule judges: by the worst unseen subject, under both conventions
        worst = {(m, c): min(v for v, _ in subject_margins(rows, m, c).values())
                 for m in (recipe, calibrated) for c in ("own-scale", "calibrated")}
        gains = [worst[calibrated, c] - worst[recipe, c] for c in ("own-scale", "calibrated")]
        keep = min(gains) >= 0 and max(gains) > 0
    method = calibrated if keep else recipe
    figures = {}
    for convention in ("own-scale", "calibrated"):
        rival, values, subjects = margins(rows, method, convention)
        mine = [r for r in rows if r["method"] == method and r["convention"] == convention]
        figures[convention] = {"psnr": float(np.mean([r["psnr"] for r in mine])),
                               "ssim_3d": float(np.mean([r["ssim_3d"] for r in mine])),
                               "mae": float(np.mean([r["mae"] for r in mine])), "subjects": len(subjects),
                               "sharpness": float(np.mean([r["sharpness"] for r in mine])),
                               "best_baseline": rival, "margin_db": float(np.mean(values)),
                               "worst_subject_margin_db": min(m for m, _ in subject_margins(rows, method,
                                                                                           convention).values())}
    return figures, keep, rule_failures(rows, method)


def uncertainty_calibration(path: Path) -> list[dict]:
    """Each uncertainty method's calibration in ``path`` (scripts/study_uncertainty.py's calibration.json), with
    the error model's regression, as the card holds them."""
    found = json.loads(path.read_text())
    return [{"method": method, **c} for method, c in found.items() if method in UNCERTAINTY_METHODS]


def recalibrate(target: Path, results: Path) -> None:
    """Rewrite the bundled model ``target`` with the uncertainty calibration of ``results``, its weights as
    they are (float16 read to float32 and written back as float16: the same numbers)."""
    loaded = load_model(target)
    card = loaded.card
    card.inference["uncertainty_calibration"] = uncertainty_calibration(results)
    reproduce = card.training["reproduce"].split(" --uncertainty-results ")[0]
    card.training["reproduce"] = f"{reproduce} --uncertainty-results {results}"
    save_model(loaded.model, card, target, half=True)
    add_to_catalog(target, folder=target.parent)  # its card and checksum (a real-data model: never the default)
    tqdm.write(f"{target}: uncertainty calibration from {results}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="+", choices=CHOICES)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/multicontrast"))
    parser.add_argument("--loso-results", type=Path, default=None,
                        help="real-*: results.csv of scripts/study_recipes.py for this mapping (its figures go in the "
                             "card, and decide whether the model is bundled)")
    parser.add_argument("--source-results", type=Path, default=None,
                        help="real-*: results.csv of scripts/study_recipes.py --folds source for this mapping (its "
                             "figures go in the card too, and it must pass the same rule)")
    parser.add_argument("--uncertainty-results", type=Path, default=None,
                        help="real-*: calibration.json of scripts/study_uncertainty.py for this recipe: each "
                             "uncertainty method's calibration, and the error model's regression, go in the card (the "
                             "share of the head above the calibrated error threshold is then reported with every "
                             "uncertainty map)")
    parser.add_argument("--calibration-only", action="store_true",
                        help="real-*: only put --uncertainty-results in the bundled model's card, keeping its weights "
                             "(after scripts/study_uncertainty.py is rerun for the recipe it was trained with)")
    parser.add_argument("--recipe", default="+planes",
                        help="real-*: the recipe (medsynth.training.recipes; e.g. +planes+nyul), as studied")
    parser.add_argument("--real-ngf", type=int, default=REAL_DATA_NETWORK["model.hyperparameters"]["ngf"],
                        help="real-*: U-Net width, as studied (default 32)")
    parser.add_argument("--force", action="store_true",
                        help="real-*: bundle even if the recipe does not beat the best baseline under both conventions")
    parser.add_argument("--phantoms", type=int, default=6, help="phantom training subjects")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--slices", type=int, default=None, help="slices per epoch (default: all)")
    parser.add_argument("--ngf", type=int, default=16, help="pGAN generator width (64 in the paper)")
    parser.add_argument("--nie-width", type=int, default=8, help="3D generator's first filters (32 in the paper)")
    parser.add_argument("--patches", type=int, default=336, help="3D: patches per epoch")
    parser.add_argument("--lr", type=float, default=1e-3, help="3D: learning rate")
    parser.add_argument("--nie-adversarial", type=float, default=0.5,
                        help="3D: adversarial weight (the seeds' 0.5; 0 trains the generator alone)")
    parser.add_argument("--validate-every", type=int, default=4, help="3D: epochs between validations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=Path("runs/bundled"), help="run folders")
    parser.add_argument("--resume", action="store_true", help="resume interrupted runs")
    parser.add_argument("--out", type=Path, default=bundled_models_dir(), help="catalog folder")
    args = parser.parse_args()
    if args.calibration_only and args.uncertainty_results is None:
        parser.error("--calibration-only needs --uncertainty-results")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for which in args.which:
        if args.calibration_only:
            name = load_config(overrides=configure(which, args)).name
            recalibrate(args.out / f"{name}.safetensors", args.uncertainty_results)
            continue
        loso = None
        if which.startswith("real"):
            loso, calibrate, failures = loso_figures(args.loso_results, which, args.recipe)
            loso = {f"leave-one-subject-out {c}": f for c, f in loso.items()}
            if args.source_results is not None:
                by_source, _, more = loso_figures(args.source_results, which, args.recipe, keep=calibrate)
                loso.update({f"leave-one-source-out {c}": f for c, f in by_source.items()})
                failures += [f"left one source out: {f}" for f in more]
            if failures and not args.force:
                tqdm.write(f"{which}: not bundled: the recipe does not beat each subject's best baseline on every "
                           f"unseen subject under both conventions: {'; '.join(failures)}")
                continue
        config = load_config(overrides=configure(which, args))
        bar = tqdm(total=1, desc=which, leave=False)

        def progress(done, total, message, bar=bar):
            bar.total, bar.n = total, done
            bar.set_description(message, refresh=True)

        path = train(config, resume=args.resume and (Path(config.output) / "state.safetensors").exists(),
                     progress=progress, epoch_callback=lambda row: tqdm.write(str(row)))
        bar.close()
        loaded = load_model(path)
        card = loaded.card
        data = "real co-registered skull-stripped brain MRI" if which.startswith("real") else "phantom heads"
        if which.endswith("_7T"):
            data = ("paired 3 T / 7 T phantom heads (the 3 T image at a coarser resolution; 7 T relaxation times, "
                    "higher signal-to-noise ratio and a centre-bright B1 profile)")
        if loso is not None:
            extra = ", output calibration" if calibrate else ""
            card.metrics = loso
            if not calibrate:  # measured better without it: ship what was measured
                card.inference.pop("output_quantiles", None)
            if args.uncertainty_results is not None:
                card.inference["uncertainty_calibration"] = uncertainty_calibration(args.uncertainty_results)
            weight = config.loss.adversarial_weight
            adversarial = f" with adversarial weight {weight:g}" if "+adv" in args.recipe else ""
            inputs = ("Nyul histogram standardization of the input" if config.data.normalization == "nyul"
                      else "percentile normalization inside the head")
            card.description = (
                f"2.5D U-Net (ngf {args.real_ngf}, 6 stages, one context slice per side) for {card.mapping}, trained "
                f"with `medsynth train` on all {len(config.data.subjects['train'])} real co-registered skull-stripped "
                "subjects with the generalization recipe ("
                + inputs + f", scanner simulation, masked L1{adversarial}, all three planes fused at inference"
                f"{extra}); its "
                "metrics are the same recipe's left-out means (leave one subject out" + (", and leave one source out" if
                args.source_results else "") + "; PSNR in dB inside the head, own-scale and calibrated "
                "conventions), with the margin over the best voxel-wise baseline (docs/results.md)."
            )
            options = (f"--recipe {args.recipe} --real-ngf {args.real_ngf} --loso-results {args.loso_results}"
                       + (f" --source-results {args.source_results}" if args.source_results else "")
                       + (f" --uncertainty-results {args.uncertainty_results}" if args.uncertainty_results else ""))
        elif card.spatial_dims == 3:
            card.metrics.update(baseline_metrics(config.data, config.data.subjects["train"],
                                                 config.data.subjects["test"], card.spatial_dims))
            card.description = (
                f"Nie et al.'s 3D dilated fully convolutional generator (9 layers, kernels 9,3,3,3,9,3,3,7,3, filters "
                f"{card.hyperparameters['filters']} instead of the paper's 32..64 so that it trains on a 2-core CPU) "
                f"for {card.mapping}, trained with `medsynth train` on 32^3 patches of {data} with "
                + ("the seeds' recipe (0.5 x adversarial + L2 + gradient difference loss)" if args.nie_adversarial
                   else "L2 + gradient difference loss and no adversarial term (on this CPU budget the adversarial "
                        "term slowed learning; see docs/results.md)")
                + "; metrics are on per-subject z-scored intensities inside the head mask, for the held-out test "
                "subject, next to the non-learned baselines."
            )
            options = (f"--nie-width {args.nie_width} --patches {args.patches} --lr {args.lr} "
                       f"--nie-adversarial {args.nie_adversarial}")
        else:
            card.metrics.update(baseline_metrics(config.data, config.data.subjects["train"],
                                                 config.data.subjects["test"], card.spatial_dims))
            card.description = (
                f"pGAN ResNet generator (9 residual blocks, ngf {args.ngf} instead of the paper's 64 so that it trains "
                f"on a 2-core CPU) for {card.mapping}, trained with `medsynth train` on {data}; metrics are on "
                "per-subject min-max normalized intensities inside the head mask, for the held-out test subject(s), "
                "next to the non-learned baselines fitted on the same training subjects."
            )
            options = f"--ngf {args.ngf}" + (f" --slices {args.slices}" if args.slices else "") + (
                f" --phantoms {args.phantoms}" if args.phantoms != 6 else "")
        epochs = "" if loso is not None else f" --epochs {args.epochs}"
        card.training["reproduce"] = f"scripts/train_bundled.py {which}{epochs} {options}"
        target = args.out / f"{config.name}.safetensors"
        save_model(loaded.model, card, target, half=True)
        add_to_catalog(target, default=which.startswith("phantom"), folder=args.out)
        tqdm.write(f"{which}: {target} ({target.stat().st_size / 1e6:.1f} MB); test {card.metrics.get('test')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
