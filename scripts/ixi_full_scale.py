#!/usr/bin/env python
"""IXI at full scale in one command: download, register, and run seed 000's protocol (Mirza et al. 2022).

    .venv/bin/python scripts/ixi_full_scale.py data/ixi --device cuda

1. ``medsynth ixi DATA``: IXI's T1, T2 and PD archives (about 12 GB), resumable and MD5-checked, unpacked
   into DATA/raw;
2. ``medsynth prepare DATA/raw DATA/prepared --reference T1``: T2 and PD registered onto each subject's
   T1 grid (as pGAN does), head masks, QC report;
3. ``scripts/reproduce_mirza2022.py --data DATA/prepared --split 25 10 18``: the six directions, each with
   and without dense skip connections, 100 epochs, ngf 64 (the paper's protocol), into DATA/mirza2022.

Each step is skipped when its output is complete, so the command can be run again after an interruption.
Everything after ``--`` goes to the reproduction script (e.g. ``-- --epochs 20 --directions T1-T2``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from medsynth.cli.main import main as medsynth

HERE = Path(__file__).resolve().parent


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    split = argv.index("--") if "--" in argv else len(argv)
    ours, rest = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="working folder: archives/, raw/, prepared/, mirza2022/")
    parser.add_argument("--base-url", default=None, help="where the IXI archives are (default: the IXI site)")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu for training")
    parser.add_argument("--stop-after", choices=("download", "prepare"), default=None,
                        help="stop after this step (e.g. to inspect the registration report first)")
    return parser.parse_args(ours), rest


def main(argv: list[str]) -> int:
    args, extra = parse(argv)
    download = ["ixi", str(args.data)] + (["--base-url", args.base_url] if args.base_url else [])
    if (code := medsynth(download)) != 0:
        return code
    if args.stop_after == "download":
        return 0
    prepared = args.data / "prepared"
    step = ["prepare", str(args.data / "raw"), str(prepared), "--reference", "T1"]
    if not (prepared / "report.csv").exists() and (code := medsynth(step)) != 0:
        return code
    if args.stop_after == "prepare":
        return 0
    command = [sys.executable, str(HERE / "reproduce_mirza2022.py"), "--data", str(prepared), "--split", "25", "10",
               "18", "--device", args.device, "--out", str(args.data / "mirza2022"), "--label", "IXI", *extra]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
