"""``medsynth demo``: the whole flow on a phantom subject, in one command."""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from ..checkpoint import load_model
from ..core.catalog import default_model, resolve_model, verify_entry
from ..core.errors import ModelError, OutputError
from ..core.files import output_set
from ..inference import InferenceOptions, synthesize
from ..io import check_writable_dir, verify_volume_file, write_volume_to
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
    grid = phantom_grid(args.shape)  # an absurd shape is refused before anything is created
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; --out must be a folder")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, out, grid)
    except BaseException:
        if created:  # nothing of a failed demo is left behind
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run(args: argparse.Namespace, out: Path, grid) -> int:
    check_writable_dir(out)
    if args.model:
        path = resolve_model(args.model)
    else:
        entry = default_model("T1", "T2")
        if entry is None:
            raise ModelError("no bundled T1->T2 model found; reinstall MedSynth or pass --model FILE")
        verify_entry(entry)
        path = entry.path
    loaded = load_model(path)
    start = time.perf_counter()
    subject = make_subject(grid, args.seed, contrasts=("T1", "T2"), lesion_probability=1.0, name="demo")
    t_phantom = time.perf_counter() - start
    t1, t2, mask = subject.images["T1"], subject.images["T2"], subject.masks["T1"]
    start = time.perf_counter()
    with progress_bar(args, "batch") as progress:
        synthetic = synthesize(t1, loaded, InferenceOptions(device=args.device), progress=progress)
    t_synth = time.perf_counter() - start
    volumes = {"input T1": (t1, "demo-T1.nii.gz", None), "real T2": (t2, "demo-T2.nii.gz", None),
               "synthetic T2": (synthetic, "demo-T2-synthetic.nii.gz", None),
               "head mask": (mask, "demo-mask.nii.gz", np.uint8)}
    files = {label: out / name for label, (_, name, _) in volumes.items()}
    files["metrics"], files["mosaic"] = out / "metrics.csv", out / "difference.png"
    evaluation = evaluate_volumes(synthetic, t2, mask)
    header, rows = metric_rows(evaluation.metrics)
    with output_set(files.values(), verify=verify_volume_file) as temporary:  # all of the demo's files, or none
        for label, (volume, _, dtype) in volumes.items():
            write_volume_to(volume, temporary[files[label]], dtype)
        write_csv(temporary[files["metrics"]], header, rows)
        write_mosaic(temporary[files["mosaic"]], synthetic, evaluation, t1,
                     title=f"{loaded.card.name}: {loaded.card.mapping}")
    card = loaded.card
    echo(f"model: {card.name} ({card.architecture}, {card.mapping})")
    if card.engine == "voxelwise":
        echo("note: this is a non-learned baseline (intensity mapping), not a trained generator.")
    elif card.description:
        echo(f"  {card.description}")
    echo(f"phantom {'x'.join(map(str, args.shape))}: {t_phantom:.1f} s; synthesis: {t_synth:.1f} s\n")
    echo(format_table(header, rows))
    echo(f"(mask: head mask of the phantom; data range {evaluation.metrics['info']['data_range']:.4g})\n")
    for label, path in files.items():
        echo(f"{label:>13}: {path}")
    return 0
