"""``medsynth demo``: the whole flow on a phantom subject, in one command."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from ..catalog import find_models, resolve_model, verify_entry
from ..checkpoint import load_model
from ..errors import ModelError
from ..inference import InferenceOptions, synthesize
from ..io import check_writable_dir, write_volume
from ..phantom import make_subject, phantom_grid
from ..pipeline import evaluate_volumes, metric_rows, write_mosaic
from .common import echo, format_table, progress_bar, write_csv

log = logging.getLogger(__name__)
DEMO_SEED = 20261121  # not used by any bundled model's training subjects


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="phantom subject -> synthetic T2 -> difference mosaic and metrics",
        description="Make a phantom subject, synthesize its T2 from its T1 with the default bundled T1->T2 model, and "
        "write the synthetic volume, a difference-map mosaic (axial, sagittal, coronal) and a metrics table. "
        "Files in OUT are replaced on every run.",
    )
    p.add_argument("--out", default="medsynth-demo", help="output folder (default ./medsynth-demo)")
    p.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150), metavar=("X", "Y", "Z"),
                   help="phantom grid (default IXI's 256 256 150)")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="phantom seed")
    p.add_argument("--model", default=None, help="model to use instead of the default bundled T1->T2 model")
    p.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check_writable_dir(out)
    if args.model:
        path = resolve_model(args.model)
    else:
        entries = find_models("T1", "T2")
        if not entries:
            raise ModelError("no bundled T1->T2 model found; reinstall MedSynth or pass --model FILE")
        verify_entry(entries[0])
        path = entries[0].path
    loaded = load_model(path)
    start = time.perf_counter()
    subject = make_subject(phantom_grid(args.shape), args.seed, contrasts=("T1", "T2"), lesion_probability=1.0,
                           name="demo")
    t_phantom = time.perf_counter() - start
    t1, t2, mask = subject.images["T1"], subject.images["T2"], subject.masks["T1"]
    start = time.perf_counter()
    with progress_bar(args, "batch") as progress:
        synthetic = synthesize(t1, loaded, InferenceOptions(device=args.device), progress=progress)
    t_synth = time.perf_counter() - start
    files = {
        "input T1": write_volume(t1, out / "demo-T1.nii.gz", overwrite=True),
        "real T2": write_volume(t2, out / "demo-T2.nii.gz", overwrite=True),
        "synthetic T2": write_volume(synthetic, out / "demo-T2-synthetic.nii.gz", overwrite=True),
        "head mask": write_volume(mask, out / "demo-mask.nii.gz", overwrite=True, dtype=np.uint8),
    }
    evaluation = evaluate_volumes(synthetic, t2, mask)
    header, rows = metric_rows(evaluation.metrics)
    files["metrics"] = write_csv(out / "metrics.csv", header, rows)
    files["mosaic"] = write_mosaic(out / "difference.png", synthetic, evaluation, t1,
                                   title=f"{loaded.card.name}: {loaded.card.mapping}")
    card = loaded.card
    echo(f"model: {card.name} ({card.architecture}, {card.mapping})")
    if card.spatial_dims == 0:
        echo("note: this is a non-learned baseline (intensity mapping), not a trained generator.")
    elif card.description:
        echo(f"  {card.description}")
    echo(f"phantom {'x'.join(map(str, args.shape))}: {t_phantom:.1f} s; synthesis: {t_synth:.1f} s\n")
    echo(format_table(header, rows))
    echo(f"(mask: head mask of the phantom; data range {evaluation.metrics['info']['data_range']:.4g})\n")
    for label, path in files.items():
        echo(f"{label:>13}: {path}")
    return 0
