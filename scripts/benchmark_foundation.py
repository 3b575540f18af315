#!/usr/bin/env python
"""Time the foundation's heavy steps on an IXI-sized (256x256x150) phantom, on this machine's CPU.

    .venv/bin/python scripts/benchmark_foundation.py [--repeats 3] [--shape 256 256 150]

Reports the median wall time over repeats of: phantom generation (all five contrasts), head mask,
baseline synthesis (the bundled T1->T2 joint histogram, through `synthesize`), metrics (`compare`),
and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
from datetime import date

import torch
from medsynth.checkpoint import load_model
from medsynth.core.catalog import default_model
from medsynth.inference import InferenceOptions, synthesize
from medsynth.mask import foreground_mask
from medsynth.metrics import compare
from medsynth.phantom import make_subject, phantom_grid


def timed(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150))
    args = parser.parse_args()
    grid = phantom_grid(args.shape)
    rows = []
    t, subject = timed(lambda: make_subject(grid, seed=1, index=0), args.repeats)
    rows.append(("phantom subject, 5 contrasts (T1, T2, PD, FLAIR, CT)", t))
    t1, t2 = subject.images["T1"], subject.images["T2"]
    t, mask = timed(lambda: foreground_mask(t1.array), args.repeats)
    rows.append(("head mask (foreground_mask)", t))
    loaded = load_model(default_model("T1", "T2").path)
    options = InferenceOptions(device="cpu", precision="fp32")
    t, synthetic = timed(lambda: synthesize(t1, loaded, options), args.repeats)
    rows.append((f"synthesize T1->T2 with {loaded.card.name} (incl. mask, normalization)", t))
    t, _ = timed(lambda: compare(synthetic, t2, mask), args.repeats)
    rows.append(("metrics: PSNR, MAE, MSE, NMSE, SSIM 3D + 3 planes, mask and whole", t))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# {date.today()}  {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"Python {platform.python_version()}, torch {torch.__version__}")
    print(f"# grid {'x'.join(map(str, args.shape))}, median of {args.repeats} runs\n")
    print("| step | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    print(f"\npeak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
