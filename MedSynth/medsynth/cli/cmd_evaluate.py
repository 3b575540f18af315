"""``medsynth evaluate``: metrics and a difference mosaic of a synthetic volume against a real one."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from tqdm import tqdm

from ..conventions import CONVENTIONS
from ..errors import InputError, OutputError
from ..io import check_output_path, output_set, read_volume, volume_extension, volume_stem
from ..metrics import __doc__ as metrics_doc
from ..metrics import summarize
from ..pipeline import evaluate_volumes, metric_rows, write_mosaic
from .common import echo, format_table, write_csv


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compare a synthetic volume with a real one (PSNR, SSIM, MAE, MSE, NMSE)",
        description="Compare SYNTHETIC with REFERENCE inside a foreground mask and over the whole image, print the "
        "table, write it as CSV and write a difference-map mosaic PNG (axial, sagittal, coronal). REFERENCE is "
        "resampled onto SYNTHETIC's grid if they differ. With two folders, every volume in SYNTHETIC is compared "
        "with the file of the same name in REFERENCE (and --mask may be a folder too): one row per subject, then "
        "the dataset mean and standard deviation.",
        epilog=metrics_doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("synthetic", metavar="SYNTHETIC", help="synthetic volume, or a folder of them")
    p.add_argument("reference", metavar="REFERENCE", help="real acquisition of the same contrast, or a folder")
    p.add_argument("--mask", default=None,
                   help="foreground mask volume (default: the reference's head, found automatically)")
    p.add_argument("--source", default=None, help="source volume to show in the mosaic too (optional)")
    p.add_argument("--convention", default="auto", choices=CONVENTIONS,
                   help="intensities compared: raw (as they are), own-scale (each image's 1st-99th percentile "
                        "inside the mask mapped to 0-1), calibrated (the synthetic mapped onto the reference by the "
                        "least-squares affine fit in the mask); auto (default): raw unless the two scales differ "
                        "by more than 1.5x, then own-scale. Both sides always get the same convention")
    p.add_argument("--data-range", type=float, default=None,
                   help="data range for PSNR/SSIM (default: max - min of the reference)")
    p.add_argument("--csv", default=None, help="CSV file to write (default: SYNTHETIC's name + _metrics.csv)")
    p.add_argument("--mosaic", default=None, help="PNG to write (default: SYNTHETIC's name + _difference.png)")
    p.add_argument("--no-mosaic", action="store_true", help="do not write the mosaic")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON (for scripts) instead of a table")
    p.add_argument("--overwrite", action="store_true", help="replace existing CSV/PNG files")
    p.set_defaults(run=run)


def check_outputs(outputs: list[Path], inputs: list[Path], overwrite: bool) -> None:
    """The report files: not an input, not a folder, in a folder that exists, new unless --overwrite."""
    for path in outputs:
        check_output_path(path, overwrite, inputs, volume=False)
    if len(set(map(str, outputs))) < len(outputs):
        raise OutputError(f"--csv and --mosaic name the same file ({outputs[0]})")


def check_data_range(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"--data-range must be a positive, finite number (the intensity span for PSNR and SSIM), "
                         f"got {value}")


def json_safe(value, where: str = ""):
    """``value`` with NaN and infinities as null (JSON has no such numbers), and a note saying why for each."""
    notes = {}

    def clean(item, key):
        if isinstance(item, float) and not math.isfinite(item):
            notes[key] = ("infinite: the two images are identical there" if item > 0 else "-infinite") \
                if math.isinf(item) else "not a number: the region holds no voxel, or the metric is undefined"
            return None
        if isinstance(item, dict):
            return {k: clean(v, f"{key}.{k}" if key else str(k)) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v, f"{key}[{i}]") for i, v in enumerate(item)]
        return item

    return clean(value, where), notes


def run(args: argparse.Namespace) -> int:
    if Path(args.synthetic).is_dir() or Path(args.reference).is_dir():
        return run_folders(args)
    csv_path = Path(args.csv or f"{volume_stem(args.synthetic)}_metrics.csv")
    png_path = None if args.no_mosaic else Path(args.mosaic or f"{volume_stem(args.synthetic)}_difference.png")
    inputs = [Path(p) for p in (args.synthetic, args.reference, args.mask, args.source) if p]
    outputs = [p for p in (csv_path, png_path) if p is not None]
    check_outputs(outputs, inputs, args.overwrite)
    check_data_range(args.data_range)
    synthetic = read_volume(args.synthetic)
    reference = read_volume(args.reference)
    mask = read_volume(args.mask, dtype=None) if args.mask else None
    source = read_volume(args.source) if args.source else None
    evaluation = evaluate_volumes(synthetic, reference, mask, args.data_range, args.convention)
    header, rows = metric_rows(evaluation.metrics)
    with output_set(outputs) as temporary:  # both files, or neither
        write_csv(temporary[csv_path], header, rows)
        if png_path is not None:
            write_mosaic(temporary[png_path], synthetic, evaluation, source, title=Path(args.synthetic).name)
    if args.json:
        metrics, notes = json_safe(evaluation.metrics)
        echo(json.dumps({**metrics, "mask_source": evaluation.mask_source, "convention": evaluation.convention,
                         "csv": str(csv_path), "mosaic": str(png_path) if png_path else None,
                         **({"notes": notes} if notes else {})}, indent=2, allow_nan=False))
    else:
        echo(format_table(header, rows))
        echo(f"mask: {evaluation.mask_source}; intensities: {evaluation.convention}; "
             f"data range {evaluation.metrics['info']['data_range']:.4g}")
        echo(f"metrics: {csv_path}" + (f"\nmosaic:  {png_path}" if png_path else ""))
    return 0


def run_folders(args: argparse.Namespace) -> int:
    """Per-subject metrics (inside the mask) of every pair of same-named volumes, then mean and SD."""
    syn_dir, ref_dir = Path(args.synthetic), Path(args.reference)
    for folder in (syn_dir, ref_dir):
        if not folder.is_dir():
            raise InputError(f"{folder}: is not a folder; give two folders or two volume files")
    mask_dir = Path(args.mask) if args.mask else None
    if mask_dir is not None and not mask_dir.is_dir():
        raise InputError(f"{mask_dir}: with folders, --mask must be a folder of masks named like the volumes")
    names = sorted(p.name for p in syn_dir.iterdir() if volume_extension(p.name) and (ref_dir / p.name).exists())
    if not names:
        raise InputError(f"no volume in {syn_dir} has a file of the same name in {ref_dir}")
    csv_path = Path(args.csv or syn_dir / "metrics.csv")
    check_outputs([csv_path], [], args.overwrite)
    check_data_range(args.data_range)
    per_subject = []
    for name in tqdm(names, unit="subject", disable=args.quiet, leave=False):
        mask = read_volume(mask_dir / name, dtype=None) if mask_dir else None
        evaluation = evaluate_volumes(read_volume(syn_dir / name), read_volume(ref_dir / name), mask,
                                      args.data_range, args.convention)
        per_subject.append((volume_stem(name), evaluation.metrics["mask"], evaluation.metrics["whole"]))
    keys = list(per_subject[0][1])
    header = ["subject", "region", *keys]
    rows = [[name, region, *(values[k] for k in keys)]
            for name, m, w in per_subject for region, values in (("mask", m), ("whole", w))]
    for region, index in (("mask", 1), ("whole", 2)):
        stats = summarize([entry[index] for entry in per_subject])
        rows.append(["mean", region, *(stats[k][0] for k in keys)])
        rows.append(["sd", region, *(stats[k][1] for k in keys)])
    write_csv(csv_path, header, rows)
    if args.json:
        safe_rows, notes = json_safe(rows)
        report = {"header": header, "rows": safe_rows, "csv": str(csv_path), **({"notes": notes} if notes else {})}
        echo(json.dumps(report, indent=2, allow_nan=False))
    else:
        shown = ["psnr", "ssim_3d", "mae", "nmse"]
        echo(format_table(["subject", *shown], [[r[0], *(r[2 + keys.index(k)] for k in shown)]
                                               for r in rows if r[1] == "mask"]))
        echo(f"{len(names)} subjects; inside the mask (sd: sample standard deviation). All values: {csv_path}")
    return 0
