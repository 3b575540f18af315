#!/usr/bin/env python
"""Train the bundled generators and add them to the catalog (reproduces each bundled model).

    .venv/bin/python scripts/train_bundled.py real-T1-T2 real-T2-T1 --data ../shared/data/multicontrast
    .venv/bin/python scripts/train_bundled.py phantom-T1-T2 phantom-T2-T1
    .venv/bin/python scripts/train_bundled.py phantom-nie-PD-T2        # Nie et al.'s 3D GAN, patch mode

``real-*``: the co-registered subjects in DATA (BraTS and TCGA naming), all but ``--holdout`` for training
(no validation subject is left, so the last epoch is kept), the held-out one for the test metrics.
``phantom-*``: phantom subjects at IXI's grid (256x256x150), seed 1000 for training, 2000 for
validation and test. Each model's card gets its test metrics next to the three non-learned baselines fitted
on the same training subjects and measured the same way (normalized intensities, head mask). Weights are
stored as float16. On this project's 2-core CPU the generator width is reduced (``--ngf``, default 16;
``--nie-width``, default 8 instead of 32); the card says so.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from medsynth.catalog import add_to_catalog, bundled_models_dir
from medsynth.checkpoint import load_model, save_model
from medsynth.phantom import write_phantom_dataset
from medsynth.training import load_config, train
from medsynth.training.data import discover
from medsynth.training.validate import baseline_metrics
from tqdm import tqdm

PATTERNS = ["{subject}_{contrast}_bet_normalized.nii.gz", "{subject}-000-{contrast}.nii.gz"]


CHOICES = ("real-T1-T2", "real-T2-T1", "phantom-T1-T2", "phantom-T2-T1", "phantom-nie-PD-T2")


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
        names = sorted(discover(load_config(overrides={"data.root": str(args.data), "data.patterns": PATTERNS,
                                                       "data.source": source, "data.target": target}).data))
        if args.holdout not in names:
            raise SystemExit(f"--holdout {args.holdout} is not one of the subjects {names}")
        train_names = [n for n in names if n != args.holdout]
        return {**common, "data.root": str(args.data), "data.patterns": PATTERNS, "data.size": 192,
                "data.subjects": {"train": train_names, "validation": [], "test": [args.holdout]},
                "optim.slices_per_epoch": args.slices}
    folder = args.work / "phantoms"
    listing = folder / "subjects.csv"
    if not listing.exists():
        settings = dict(shape=(256, 256, 150), contrasts=("T1", "T2", "PD"), overwrite=True)  # IXI grid
        write_phantom_dataset(folder / "train", args.phantoms, seed=1000, **settings)
        write_phantom_dataset(folder / "heldout", 2, seed=2000, **settings)
        rows = ["subject,contrast,path"]
        for part in ("train", "heldout"):
            for path in sorted((folder / part).glob("*.nii.gz")):
                subject, contrast = path.name[: -len(".nii.gz")].rsplit("-", 1)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="+", choices=CHOICES)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/multicontrast"))
    parser.add_argument("--holdout", default="TCGA-DU-7294", help="real subject kept out for the test metrics")
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for which in args.which:
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
        card.metrics.update(baseline_metrics(config.data, config.data.subjects["train"], config.data.subjects["test"],
                                             card.spatial_dims))
        data = "real co-registered skull-stripped brain MRI" if which.startswith("real") else "phantom heads"
        if card.spatial_dims == 3:
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
            card.description = (
                f"pGAN ResNet generator (9 residual blocks, ngf {args.ngf} instead of the paper's 64 so that it trains "
                f"on a 2-core CPU) for {card.mapping}, trained with `medsynth train` on {data}; metrics are on "
                "per-subject min-max normalized intensities inside the head mask, for the held-out test subject(s), "
                "next to the non-learned baselines fitted on the same training subjects."
            )
            options = f"--ngf {args.ngf}"
        card.training["reproduce"] = f"scripts/train_bundled.py {which} --epochs {args.epochs} {options}"
        target = args.out / f"{config.name}.safetensors"
        save_model(loaded.model, card, target, half=True)
        add_to_catalog(target, default=which.startswith("phantom"), folder=args.out)
        tqdm.write(f"{which}: {target} ({target.stat().st_size / 1e6:.1f} MB); test {card.metrics.get('test')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
