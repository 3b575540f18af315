"""``medsynth phantom``: write an IXI-style folder of phantom subjects."""

from __future__ import annotations

import argparse
import time

from ..phantom import CONTRAST_NAMES, FIELDS, PHANTOM_CONTRASTS, write_phantom_dataset
from .common import echo, progress_bar


def add_parser(sub) -> None:
    p = sub.add_parser(
        "phantom",
        help="make physics-based multi-contrast brain phantom subjects",
        description="Write an IXI-style folder of digital brain phantom subjects: <subject>-T1.nii.gz, -T2, -PD, "
        "-FLAIR, -CT and -mask (head mask), all on one grid per subject. T1w/T2w/PD use IXI's sequence "
        "parameters at 1.5 T (--field 3 or 7 for those fields' relaxation times and protocols); T1_7T and T2_7T "
        "are 7 T images of the same anatomy (stronger B1 inhomogeneity, higher SNR), beside which the other "
        "contrasts are imaged at a coarser resolution: paired 3T/7T subjects with --field 3 --contrasts T1 T1_7T. "
        "Anatomy varies per subject through smooth random deformations. Deterministic for a given --seed.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    p.add_argument("--subjects", type=int, default=1, help="number of subjects (default 1)")
    p.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150), metavar=("X", "Y", "Z"),
                   help="grid size in voxels along i (R), j (A), k (S) (default IXI's 256 256 150)")
    p.add_argument("--spacing", type=float, nargs=3, default=None, metavar=("SX", "SY", "SZ"),
                   help="voxel size in mm (default: what gives IXI's 240x240x180 mm field of view)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same subjects (default 0)")
    p.add_argument("--contrasts", nargs="+", default=list(CONTRAST_NAMES), choices=PHANTOM_CONTRASTS,
                   help=f"contrasts to write (default {' '.join(CONTRAST_NAMES)})")
    p.add_argument("--field", type=float, default=1.5, choices=FIELDS,
                   help="field strength in tesla of T1, T2, PD and FLAIR (default 1.5, IXI's)")
    p.add_argument("--unpaired", action="store_true",
                   help="give each contrast its own anatomy (unpaired data, as for CycleGAN); masks become "
                        "<subject>-<contrast>-mask")
    p.add_argument("--lesion-probability", type=float, default=0.25,
                   help="chance that a subject has a periventricular lesion (default 0.25)")
    p.add_argument("--symmetric", action="store_true",
                   help="mirror-symmetric heads but for the lesion (on one side), as real brains nearly are: what "
                        "the trust mask's asymmetry check expects (by default each hemisphere has its own gyri)")
    p.add_argument("--noise", type=float, default=0.02,
                   help="Rician noise level as a fraction of the brightest tissue (default 0.02)")
    p.add_argument("--labels", action="store_true", help="also write <subject>-labels.nii.gz (tissue labels)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    with progress_bar(args, "subject") as progress:
        written = write_phantom_dataset(
            args.out_dir, args.subjects, args.shape, args.spacing, args.seed, args.contrasts,
            args.unpaired, args.lesion_probability, args.noise, args.labels, args.overwrite, progress, args.field,
            args.symmetric,
        )
    echo(f"wrote {len(written)} files for {args.subjects} subject(s) to {args.out_dir} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0
