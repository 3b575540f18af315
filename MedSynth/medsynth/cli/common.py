"""Pieces shared by the subcommands: progress bars, inference options, table printing."""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from ..inference import InferenceOptions
from ..inference.options import BLEND_MODES, DEVICES, PRECISION_CHOICES, UNCERTAINTY_METHODS
from ..io import atomic_output
from ..planes import PLANES
from ..progress_lines import ProgressLines


def echo(text: str = "", err: bool = False) -> None:
    """The CLI's only way to talk to the terminal: results to stdout, messages to stderr. Control characters
    are removed first: a card or file name with escape sequences could otherwise clear the screen or retitle
    the terminal."""
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{printable(str(text))}\n")
    stream.flush()


_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}


def printable(text: str) -> str:
    """``text`` without control characters (newlines and tabs kept) or bidirectional overrides."""
    return "".join(c for c in text if c in "\n\t" or not (unicodedata.category(c) == "Cc" or ord(c) in _BIDI))


@contextmanager
def progress_bar(args: argparse.Namespace, unit: str) -> Iterator:
    """A tqdm bar driven by a ``progress(done, total, message)`` callback (silent with --quiet; one
    parseable line per update with --progress-lines)."""
    if getattr(args, "progress_lines", False):
        yield ProgressLines(lambda line: echo(line, err=True))
        return
    bar = tqdm(total=1, unit=unit, disable=getattr(args, "quiet", False), leave=False, dynamic_ncols=True)

    def update(done: int, total: int, message: str) -> None:
        if bar.total != total or done < bar.n:
            bar.reset(total=total)
        bar.set_description(message)
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def add_inference_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inference")
    g.add_argument("--axis", default="auto", choices=("auto", *PLANES, "all"),
                   help="plane of the slices for 2D models; auto = the plane the model was trained on (chosen from "
                        "the volume's direction matrix, not the array order; the three, fused, for a model trained "
                        "on all planes); all = run along the three planes and average (3x the time, no stripes "
                        "between slices in the other views)")
    g.add_argument("--batch-size", type=int, default=8, help="slices or patches per forward pass (default 8)")
    g.add_argument("--patch-size", type=_int_or_full, default=None,
                   help="3D models: patch edge in voxels, or 'full' for one pass over the whole volume "
                        "(default: the model's, usually 32)")
    g.add_argument("--stride", type=_int_or_full, default=None,
                   help="3D models: step between patches in voxels (8 on 32^3 patches is the seeds' setting), or "
                        "'full' for one whole-volume pass (default: the model's; see docs/results.md)")
    g.add_argument("--blend", default=None, choices=tuple(BLEND_MODES),
                   help="3D models: how overlapping patches are averaged (default: the model's, else gaussian)")
    g.add_argument("--no-skip-background", dest="skip_background", action="store_false",
                   help="process every slice/patch, not only those holding foreground (slower, same result "
                        "inside the head)")
    g.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip the model's output calibration (its output histogram inside the head mapped to the "
                        "training targets'), where the model has one")
    g.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto = CUDA, else Apple MPS, else CPU; an unavailable device falls back to the CPU")
    g.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                   help="auto (default): bf16 mixed precision where the CPU or GPU computes it natively (AVX-512 "
                        "BF16, AMX, recent GPUs; about 1.2-2x faster, results within a few hundredths of a dB), "
                        "else fp32; or fp32, bf16, fp16 explicitly")


    g.add_argument("--uncertainty-method", dest="uncertainty_method", default="flip", choices=UNCERTAINTY_METHODS,
                   help="with an uncertainty map: how its test-time ensemble varies the input in each plane: flip "
                        "(default: with and without a left-right flip; the image is their mean) or intensity (as "
                        "it is and through two random monotone intensity curves, as another protocol would "
                        "change it; the image is the plain synthesis); docs/results.md compares them")


def _int_or_full(value: str):
    return "full" if value == "full" else int(value)


def inference_options(args: argparse.Namespace) -> InferenceOptions:
    return InferenceOptions(
        axis=args.axis, batch_size=args.batch_size, skip_background=args.skip_background,
        patch_size=args.patch_size, stride=args.stride, blend=args.blend,
        device=args.device, precision=args.precision, calibrate=args.calibrate, uncertainty=args.uncertainty_method,
    )


def format_table(header: list[str], rows: list[list]) -> str:
    cells = [[_fmt(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue())
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)
