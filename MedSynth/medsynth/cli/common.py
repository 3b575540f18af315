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
from dataclasses import fields
from pathlib import Path

from tqdm import tqdm

from ..core.files import atomic_output
from ..core.options import read_options
from ..core.progress import ProgressLines
from ..inference import InferenceOptions


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
    """One flag per field of ``InferenceOptions`` (its help and choices), and ``--options-file``."""
    g = p.add_argument_group("inference")
    for item in fields(InferenceOptions):
        meta = item.metadata
        if item.type in ("bool", bool) and item.default is True:
            g.add_argument(f"--no-{item.name.replace('_', '-')}", dest=item.name, action="store_false",
                           help=meta["help"])
            continue
        g.add_argument(meta["flag"] or f"--{item.name.replace('_', '-')}", dest=_dest(item), default=item.default,
                       type=meta["kind"] or str, choices=meta["choices"], help=meta["help"])
    g.add_argument("--options-file", type=Path, default=None, metavar="FILE",
                   help="read every inference setting from FILE (JSON, as the Slicer module writes it for its child "
                        "process); the inference flags above are then not used")


def inference_options(args: argparse.Namespace) -> InferenceOptions:
    """The options of the parsed flags, or of ``--options-file``."""
    if getattr(args, "options_file", None) is not None:
        return read_options(args.options_file)
    return InferenceOptions(**{item.name: getattr(args, _dest(item)) for item in fields(InferenceOptions)})


def _dest(item) -> str:
    """Where argparse keeps a setting: its flag's name (``--uncertainty-method``: ``uncertainty_method``, apart
    from ``--uncertainty FILE``), else the field's."""
    return item.metadata["flag"][2:].replace("-", "_") if item.metadata["flag"] else item.name


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
