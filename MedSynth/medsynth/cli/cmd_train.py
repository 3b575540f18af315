"""``medsynth train``: train a 2D or 3D generator on paired volumes (``torchrun`` for several GPUs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.architectures import described, names
from ..core.errors import ConfigError
from ..core.run_folder import clear_run
from ..training.config import load_config, parse_override
from .common import echo, progress_bar

EXAMPLE = """examples:
  medsynth phantom data --subjects 6
  medsynth train --data data --source T1 --target T2 --epochs 20 --out runs/t1t2 --set model.hyperparameters.ngf=16
  medsynth train --config my.yaml --set optim.lr=2e-4 --set model.hyperparameters.dense_blocks=3
  medsynth train --data data --source PD --target T2 --arch nie --out runs/pd-t2-3d   # Nie et al.'s 3D GAN
  medsynth train --data data --source PD --target T2 --arch nie_cascade --set model.hyperparameters.residual=true
  medsynth train --init real-unet-T1-T2 --data my-site --out runs/my-site   # fine-tune on your own subjects
  medsynth train --arch cyclegan --data mri --target-data ct --source T1 --target CT --out runs/t1-ct   # unpaired
  medsynth train --resume runs/t1t2                       # after an interruption: continues exactly
  torchrun --nproc_per_node 4 -m medsynth.cli.main train --config my.yaml   # 4 GPUs (DDP)"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a synthesis GAN (pGAN, U-Net, Nie et al.'s 3D GAN, ...) on co-registered volumes",
        description="Train a generator on paired source/target volumes, or on unpaired ones (cyclegan: source and "
        "target volumes from different subjects, folders or sites). 2D models (pgan, unet, convnet) learn from "
        "slices with seed 000's recipe (Adam 1e-4, betas 0.5/0.999, constant then linear decay, discriminator loss "
        "halved); 3D models (nie, nie_cascade) learn from 32^3 patches with Nie et al.'s recipe (z-score, 0.5 x "
        "adversarial + L2 + gradient difference loss; a cascade is trained stage by stage). Validation runs on "
        "whole volumes each epoch and the best epoch by validation PSNR is kept. The run folder holds config.yaml, "
        "split.json, "
        "history.csv, curves.png, samples/, the resumable state, best.safetensors and, at the end, "
        "model.safetensors (the best epoch, with test metrics in its card; unpaired runs also leave "
        "model-reverse.safetensors, the target -> source generator).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="YAML or JSON configuration (sections data, model, loss, optim, augment, "
                                    "validation; see docs/training.md)")
    p.add_argument("--data", help="dataset: IXI-style folder or CSV list file (data.root)")
    p.add_argument("--pattern", action="append", default=None,
                   help="file pattern with {subject} and {contrast}, repeatable (data.patterns)")
    p.add_argument("--source", help="source contrast, e.g. T1 (data.source)")
    p.add_argument("--target", help="target contrast, e.g. T2 (data.target)")
    p.add_argument("--sources", nargs="+", metavar="CONTRAST",
                   help="many-to-one: every input contrast in order, e.g. --sources T1 T2 --target FLAIR "
                        "(data.sources; replaces --source)")
    p.add_argument("--target-data", metavar="FOLDER",
                   help="unpaired architectures (cyclegan): the target contrast's own folder, other subjects or "
                        "another site (data.target_root; default: --data). Every volume is resampled to data.spacing "
                        "mm (default 1) in the slice plane")
    p.add_argument("--arch", choices=names("generator", trainable=True), metavar="ARCH",
                   help=f"generator architecture (model.architecture; default pgan): {described()}")
    p.add_argument("--init", metavar="MODEL",
                   help="fine-tune MODEL (a bundled name or a .safetensors file) on your own 1-3 paired subjects: "
                        "its architecture, hyperparameters, mapping and normalization are kept and its generator "
                        "weights are the start; default recipe 10 epochs at lr 5e-5 (init)")
    p.add_argument("--epochs", type=int, help="number of epochs, per stage for a cascade (optim.epochs; default 100)")
    p.add_argument("--batch-size", type=int, help="slices or patches per iteration and process (optim.batch_size; "
                                                  "default 1 for 2D, 7 for 3D)")
    p.add_argument("--lr", type=float, help="learning rate (optim.lr; default 1e-4)")
    p.add_argument("--out", help="run folder (output; default runs/medsynth)")
    p.add_argument("--name", help="model name written in the card (name)")
    p.add_argument("--device", help="auto, cuda, mps or cpu (device)")
    p.add_argument("--seed", type=int, help="random seed of the run (seed)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="any setting, e.g. --set model.hyperparameters.ngf=32 --set loss.gdl=1 (repeatable)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last completed epoch "
                                                   "(its config.yaml is used; --epochs and --set may extend it)")
    p.add_argument("--restart", action="store_true",
                   help="with --resume RUN: start RUN afresh in its folder, with its settings (its state, models "
                        "and history are replaced); the way out when its training state is damaged")
    p.set_defaults(run=run)


FLAGS = {"data": "data.root", "pattern": "data.patterns", "source": "data.source", "target": "data.target",
         "sources": "data.sources", "target_data": "data.target_root",
         "arch": "model.architecture", "epochs": "optim.epochs", "batch_size": "optim.batch_size", "lr": "optim.lr",
         "out": "output", "name": "name", "device": "device", "seed": "seed", "init": "init"}


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    values = {key: getattr(args, flag) for flag, key in FLAGS.items() if getattr(args, flag) is not None}
    values.update(dict(parse_override(text) for text in args.overrides))
    return values


def run(args: argparse.Namespace) -> int:
    from ..training import train  # torch

    overrides = overrides_from(args)
    if args.restart and not args.resume:
        raise ConfigError("--restart starts an existing run afresh: give its folder with --resume RUN --restart")
    if args.resume:
        overrides["output"] = args.resume
        config = load_config(Path(args.resume) / "config.yaml", overrides)
    else:
        config = load_config(args.config, overrides)
    if args.restart:
        clear_run(Path(args.resume))

    def report(row: dict[str, Any]) -> None:
        stage = f" (stage {row['stage']})" if "stage" in row else ""
        text = f"epoch {row['epoch']:>3}{stage}  G {row['loss_G']:.4f}"
        if "loss_D" in row:
            text += f"  D {row['loss_D']:.4f}"
        if "val_psnr" in row:
            text += f"  val PSNR {row['val_psnr']:.2f} dB  SSIM {row['val_ssim_3d']:.3f}  MAE {row['val_mae']:.4f}"
        echo(f"{text}  ({row['seconds']:.0f} s)", err=True)

    with progress_bar(args, "it") as progress:
        path = train(config, resume=bool(args.resume) and not args.restart, progress=progress, epoch_callback=report)
    if path is not None:
        echo(f"model: {path}")
    return 0
