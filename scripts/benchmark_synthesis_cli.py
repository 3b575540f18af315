#!/usr/bin/env python
"""What a user waits for: ``medsynth synthesize`` end to end (start, read, synthesize, write) on an IXI-sized
256x256x150 volume with a bundled model, plain, with ``--uncertainty`` and with ``--axis all``.

    .venv/bin/python scripts/benchmark_synthesis_cli.py --model real-pgan-T1-T2 [--repeats 3] [--device cpu]

The input is a phantom T1 at IXI's grid (written once to a scratch folder). Each variant runs ``--repeats``
times in a fresh process; the median wall time is reported with the machine and the date. The goal: the
plain run within 10 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from medsynth.io import write_volume
from medsynth.phantom import make_subject, phantom_grid

VARIANTS = {"plain": [], "uncertainty": ["--uncertainty", "{tmp}/sd.nii.gz"], "all-planes": ["--axis", "all"],
            "axial": ["--axis", "axial"], "fp32": ["--precision", "fp32"],
            "flip-uncertainty": ["--uncertainty", "{tmp}/sd.nii.gz", "--uncertainty-method", "flip"],
            "intensity-uncertainty": ["--uncertainty", "{tmp}/sd.nii.gz", "--uncertainty-method", "intensity"],
            "all-planes+uncertainty": ["--axis", "all", "--uncertainty", "{tmp}/sd.nii.gz"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="bundled model name or model file")
    parser.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150), help="input grid (default IXI's)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (the median is reported)")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu")
    parser.add_argument("--precision", default=None, help="fp32, bf16 or fp16 (default: the command's own default)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input-T1.nii.gz"
        write_volume(make_subject(phantom_grid(tuple(args.shape)), seed=5, contrasts=("T1",)).images["T1"], source)
        rows = []
        for variant in args.variants:
            extra = [part.format(tmp=tmp) for part in VARIANTS[variant]]
            times = []
            for _ in range(args.repeats):
                command = [sys.executable, "-m", "medsynth.cli.main", "-q", "synthesize", str(source),
                           f"{tmp}/out.nii.gz", "--model", args.model, "--device", args.device, "--overwrite", *extra,
                           *(["--precision", args.precision] if args.precision else [])]
                start = time.perf_counter()
                subprocess.run(command, check=True)
                times.append(time.perf_counter() - start)
            rows.append((variant, statistics.median(times), min(times), max(times)))
    precision = f", --precision {args.precision}" if args.precision else ""
    print(f"`medsynth synthesize` on a {'x'.join(map(str, args.shape))} volume with {args.model}, device "
          f"{args.device}{precision}, {os.cpu_count()} CPU(s) {platform.processor() or platform.machine()}, "
          f"{date.today()}; "
          f"median of {args.repeats} runs (min-max):\n")
    print("| variant | options | seconds | min-max |\n|---|---|---|---|")
    for variant, median, low, high in rows:
        options = " ".join(VARIANTS[variant]).replace("{tmp}/", "") or "(none)"
        print(f"| {variant} | `{options}` | {median:.1f} | {low:.1f}-{high:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
