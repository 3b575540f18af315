"""``medsynth evaluate``: metrics and a difference mosaic of a synthetic volume against a real one."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from tqdm import tqdm

from ..core.contrasts import CONTRASTS, contrast_from_filename
from ..core.conventions import CONVENTIONS
from ..core.errors import InputError, OutputError
from ..core.files import output_set, volume_extension, volume_stem
from ..io import check_output_path, read_volume
from ..metrics import BONE_HU, bone_dice, summarize
from ..metrics import __doc__ as metrics_doc
from ..pipeline import evaluate_conventions, metric_rows, write_mosaic
from ..resample import resample_to
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
    p.add_argument("--convention", default="both", choices=(*CONVENTIONS, "both"),
                   help="intensities compared, both sides alike: both (default: own-scale and calibrated side by "
                        "side, the two conventions of every results table), own-scale (each image's 1st-99th "
                        "percentile inside the mask mapped to 0-1), calibrated (the synthetic image fitted to the "
                        "reference by a least-squares line with a non-negative slope: a window/level change), raw "
                        "(as they are), auto (raw unless the two scales differ by more than 1.5x, then own-scale)")
    p.add_argument("--bone-dice", type=float, nargs="?", const=BONE_HU, default=None, metavar="HU",
                   help=f"also the Dice overlap of bone (HU above this, default {BONE_HU:g}) in the synthetic and the "
                        "real CT inside the mask, on the raw HU values (on by default when REFERENCE is named as a "
                        "CT, e.g. subject-CT.nii.gz)")
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
    evaluations = evaluate_conventions(synthetic, reference, mask, args.data_range, conventions(args))
    evaluation = next(iter(evaluations.values()))  # own-scale with "both": what the mosaic shows
    header, rows = convention_rows(evaluations)
    named = contrast_from_filename(args.reference)
    threshold = args.bone_dice if args.bone_dice is not None else (CONTRASTS[named].bone_hu if named else None)
    bone = None
    if threshold is not None:
        raw = reference if reference.same_grid(synthetic) else resample_to(reference, synthetic)
        bone = bone_dice(synthetic.array, raw.array, evaluation.mask, threshold)
    with output_set(outputs) as temporary:  # both files, or neither
        write_csv(temporary[csv_path], header, rows)
        if png_path is not None:
            write_mosaic(temporary[png_path], synthetic, evaluation, source, title=Path(args.synthetic).name)
    if args.json:
        if len(evaluations) == 1:
            report = {**evaluation.metrics, "convention": evaluation.convention}
        else:
            report = {e.convention: e.metrics for e in evaluations.values()}
        if bone is not None:
            report["bone_dice"] = {"threshold_hu": threshold, "dice": bone}
        report, notes = json_safe(report)
        echo(json.dumps({**report, "mask_source": evaluation.mask_source, "csv": str(csv_path),
                         "mosaic": str(png_path) if png_path else None, **({"notes": notes} if notes else {})},
                        indent=2, allow_nan=False))
    else:
        echo(format_table(header, rows))
        ranges = ", ".join(f"{e.convention} {e.metrics['info']['data_range']:.4g}" for e in evaluations.values())
        echo(f"mask: {evaluation.mask_source}; intensities: {', '.join(evaluations)}; data range {ranges}")
        if bone is not None:
            echo(f"bone Dice (HU > {threshold:g}, raw values inside the mask): {bone:.3f}")
        echo(f"metrics: {csv_path}" + (f"\nmosaic:  {png_path}" if png_path else ""))
    return 0


def conventions(args: argparse.Namespace) -> list[str]:
    return list(REPORTED) if args.convention == "both" else [args.convention]


REPORTED = ("own-scale", "calibrated")


def convention_rows(evaluations: dict) -> tuple[list[str], list[list]]:
    """One row per metric; a mask and a whole-image column per convention (the convention's name first
    when there are several)."""
    if len(evaluations) == 1:
        return metric_rows(next(iter(evaluations.values())).metrics)
    header = ["metric", *(f"{c} {region}" for region in ("mask", "whole") for c in evaluations)]
    keys = list(next(iter(evaluations.values())).metrics["mask"])
    rows = [[key, *(evaluations[c].metrics[region][key] for region in ("mask", "whole") for c in evaluations)]
            for key in keys]
    return header, rows


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
        evaluations = evaluate_conventions(read_volume(syn_dir / name), read_volume(ref_dir / name), mask,
                                           args.data_range, conventions(args))
        for evaluation in evaluations.values():
            per_subject.append((volume_stem(name), evaluation.convention, evaluation.metrics["mask"],
                                evaluation.metrics["whole"]))
    keys = list(per_subject[0][2])
    header = ["subject", "convention", "region", *keys]
    rows = [[name, convention, region, *(values[k] for k in keys)]
            for name, convention, m, w in per_subject for region, values in (("mask", m), ("whole", w))]
    for convention in dict.fromkeys(entry[1] for entry in per_subject):
        for region, index in (("mask", 2), ("whole", 3)):
            stats = summarize([entry[index] for entry in per_subject if entry[1] == convention])
            rows.append(["mean", convention, region, *(stats[k][0] for k in keys)])
            rows.append(["sd", convention, region, *(stats[k][1] for k in keys)])
    write_csv(csv_path, header, rows)
    if args.json:
        safe_rows, notes = json_safe(rows)
        report = {"header": header, "rows": safe_rows, "csv": str(csv_path), **({"notes": notes} if notes else {})}
        echo(json.dumps(report, indent=2, allow_nan=False))
    else:
        shown = ["psnr", "ssim_3d", "mae", "nmse"]
        echo(format_table(["subject", "convention", *shown], [[r[0], r[1], *(r[3 + keys.index(k)] for k in shown)]
                                                             for r in rows if r[2] == "mask"]))
        echo(f"{len(names)} subjects; inside the mask (sd: sample standard deviation). All values: {csv_path}")
    return 0
