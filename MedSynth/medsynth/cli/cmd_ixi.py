"""``medsynth ixi``: download, check and unpack the IXI dataset (T1, T2, PD) for ``medsynth prepare``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..ixi import BASE_URL, MD5, fetch_ixi
from .common import echo, progress_bar

EXAMPLE = """examples:
  medsynth ixi data/ixi                       # T1, T2 and PD: about 12 GB; run again to continue
  medsynth prepare data/ixi/raw data/ixi/prepared --reference T1
  .venv/bin/python scripts/reproduce_mirza2022.py --data data/ixi/prepared --split 25 10 18 --device cuda
  scripts/ixi_full_scale.py data/ixi          # all three steps in one command"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ixi",
        help="download the IXI dataset (T1/T2/PD of about 580 healthy subjects) and unpack it",
        description="Download IXI's T1, T2 and PD archives into OUT/archives (resumable: an interrupted download "
        "continues from where it stopped when the command runs again), check each against its published MD5, "
        "and unpack its NIfTI files into OUT/raw, ready for `medsynth prepare`. IXI is CC BY-SA 3.0: "
        "acknowledge https://brain-development.org/ixi-dataset/.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("out", metavar="OUT", help="folder for archives/ and raw/ (created)")
    p.add_argument("--contrasts", nargs="+", default=list(MD5), choices=list(MD5),
                   help="archives to fetch (default: T1 T2 PD)")
    p.add_argument("--base-url", default=BASE_URL, help=f"where the archives are (default {BASE_URL})")
    p.add_argument("--no-keep-archives", dest="keep_archives", action="store_false",
                   help="delete each archive once unpacked (saves about 12 GB)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    with progress_bar(args, "B") as progress:
        raw = fetch_ixi(Path(args.out), args.contrasts, args.base_url, progress=progress,
                        keep_archives=args.keep_archives)
    count = sum(1 for _ in raw.glob("IXI*.nii.gz"))
    echo(f"IXI {', '.join(args.contrasts)}: {count} volumes in {raw} ({time.perf_counter() - start:.0f} s); next: "
         f"medsynth prepare {raw} {Path(args.out) / 'prepared'}")
    return 0
