"""``medsynth prepare``: register, resample, mask and crop raw subjects into a training-ready folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.contrasts import canonical_contrast
from ..prepare import REPORT_COLUMNS, PrepareOptions, prepare_dataset
from ..registration import STAGES
from .common import echo, format_table, progress_bar


def add_parser(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="co-register each subject's contrasts and write a training-ready folder with a report",
        description="For every subject in RAW, register each other contrast onto the reference contrast "
        "(SimpleITK: rigid then affine, Mattes mutual information, inside the reference's head mask), resample it "
        "onto the reference grid, write the head mask, optionally crop to it, and write OUT/<subject>-<contrast>."
        "nii.gz plus OUT/report.csv (mutual information and head-mask Dice before/after, rotation and translation "
        "found) and OUT/report/*-checkerboard.png. `medsynth train --data OUT` takes the result.",
    )
    p.add_argument("raw", help="raw dataset: IXI-style folder (<subject>-T1.nii.gz, ...) or CSV list file")
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--reference", default="T1", help="contrast whose grid all others are resampled onto (default "
                                                      "T1, as pGAN registers T2 and PD to T1)")
    p.add_argument("--contrasts", nargs="+", help="contrasts to register (default: all found)")
    p.add_argument("--pattern", action="append", default=[],
                   help="file pattern with {subject} and {contrast} for non-IXI names, repeatable")
    p.add_argument("--rigid-only", action="store_true", help="skip the affine stage (same scanner and session)")
    p.add_argument("--crop", action="store_true", help="crop every volume to the head's bounding box")
    p.add_argument("--margin", type=int, default=8, help="voxels kept around the head when cropping (default 8)")
    p.add_argument("--ct-units", choices=("hu", "cormack"), default="hu",
                   help="how CT volumes are stored: hu (Hounsfield units, default) or cormack (Rorden et al.'s "
                        "Cormack units, as the Clinical toolbox's scct template), converted to HU")
    p.add_argument("--skull-strip", action="store_true",
                   help="extract each subject's brain on the reference contrast (deepbet, made for T1) and set every "
                        "contrast to background outside it; the -mask file then holds the brain, not the head")
    p.add_argument("--overwrite", action="store_true", help="replace prepared files already in OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = PrepareOptions(
        reference=canonical_contrast(args.reference),
        contrasts=[canonical_contrast(c) for c in args.contrasts] if args.contrasts else None,
        stages=("rigid",) if args.rigid_only else STAGES, crop=args.crop, margin=args.margin,
        overwrite=args.overwrite, ct_units=args.ct_units, skull_strip=args.skull_strip,
    )
    with progress_bar(args, "subject") as progress:
        rows = prepare_dataset(args.raw, args.out, options, args.pattern, progress)
    columns = REPORT_COLUMNS[:-1]  # every shown row was prepared; report.csv has the status column
    echo(format_table(columns, [[row[k] for k in columns] for row in rows]))
    echo(f"\nprepared {len({r['subject'] for r in rows})} subject(s) in {args.out}; report: "
         f"{Path(args.out) / 'report.csv'}, checkerboards in {Path(args.out) / 'report'}")
    return 0
