"""``medsynth evaluate``: metrics and a difference mosaic of a synthetic volume against a real one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import OutputError
from ..io import read_volume, volume_extension
from ..metrics import __doc__ as metrics_doc
from ..pipeline import evaluate_volumes, metric_rows, write_mosaic
from .common import format_table, write_csv


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compare a synthetic volume with a real one (PSNR, SSIM, MAE, MSE, NMSE)",
        description="Compare SYNTHETIC with REFERENCE inside a foreground mask and over the whole image, print the "
        "table, write it as CSV and write a difference-map mosaic PNG (axial, sagittal, coronal). REFERENCE is "
        "resampled onto SYNTHETIC's grid if they differ.",
        epilog=metrics_doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("synthetic", metavar="SYNTHETIC", help="synthetic volume")
    p.add_argument("reference", metavar="REFERENCE", help="real acquisition of the same contrast")
    p.add_argument("--mask", default=None,
                   help="foreground mask volume (default: the reference's head, found automatically)")
    p.add_argument("--source", default=None, help="source volume to show in the mosaic too (optional)")
    p.add_argument("--data-range", type=float, default=None,
                   help="data range for PSNR/SSIM (default: max - min of the reference)")
    p.add_argument("--csv", default=None, help="CSV file to write (default: SYNTHETIC's name + _metrics.csv)")
    p.add_argument("--mosaic", default=None, help="PNG to write (default: SYNTHETIC's name + _difference.png)")
    p.add_argument("--no-mosaic", action="store_true", help="do not write the mosaic")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON (for scripts) instead of a table")
    p.add_argument("--overwrite", action="store_true", help="replace existing CSV/PNG files")
    p.set_defaults(run=run)


def _stem(path: str) -> str:
    ext = volume_extension(path) or ""
    return path[: len(path) - len(ext)] if ext else path


def run(args: argparse.Namespace) -> int:
    csv_path = Path(args.csv or f"{_stem(args.synthetic)}_metrics.csv")
    png_path = None if args.no_mosaic else Path(args.mosaic or f"{_stem(args.synthetic)}_difference.png")
    for path in (csv_path, png_path):
        if path is not None and path.exists() and not args.overwrite:
            raise OutputError(f"{path}: already exists; pass --overwrite to replace it")
    synthetic = read_volume(args.synthetic)
    reference = read_volume(args.reference)
    mask = read_volume(args.mask, dtype=None) if args.mask else None
    source = read_volume(args.source) if args.source else None
    evaluation = evaluate_volumes(synthetic, reference, mask, args.data_range)
    header, rows = metric_rows(evaluation.metrics)
    write_csv(csv_path, header, rows)
    if png_path is not None:
        write_mosaic(png_path, synthetic, evaluation, source, title=Path(args.synthetic).name)
    if args.json:
        print(json.dumps({**evaluation.metrics, "mask_source": evaluation.mask_source,
                          "csv": str(csv_path), "mosaic": str(png_path) if png_path else None}, indent=2))
    else:
        print(format_table(header, rows))
        print(f"mask: {evaluation.mask_source}; data range {evaluation.metrics['info']['data_range']:.4g}")
        print(f"metrics: {csv_path}" + (f"\nmosaic:  {png_path}" if png_path else ""))
    return 0
