#!/usr/bin/env python
"""What the Slicer module's way of running costs: the same synthesis in Slicer's process (the console and
batch API) and in a child process (what the GUI does, so it never freezes), on a real MRML scene from
slicer-core, plus the comparison with a reference (difference volume, overlay, metrics table).

    .venv/bin/python scripts/benchmark_slicer_logic.py [--repeats 3] [--shape 256 256 150]

Reports median wall times, how long the GUI thread is busy per poll of the child, and peak memory of
this process (the child's is not included).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "MedSynth"))  # MedSynthLib outside Slicer

import slicer
from benchmark_foundation import timed  # the same median-of-repeats timer
from medsynth.inference import InferenceOptions
from medsynth.phantom import make_subject, phantom_grid
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.BackgroundSynthesis import BackgroundSynthesis
from MedSynthLib.ComparisonLogic import ComparisonLogic
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import addVolumeNode


def background(node, model: str, options: InferenceOptions) -> tuple[object, float]:
    """Run in a child process, polling as the module's QTimer does; returns the node and the longest poll."""
    job = BackgroundSynthesis(node, model, options)
    job.start()
    longest = 0.0
    while True:
        start = time.perf_counter()
        state = job.poll()
        longest = max(longest, time.perf_counter() - start)
        if state is not State.RUNNING:
            break
        time.sleep(0.2)
    return job.finish(), longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150), help="phantom grid (default IXI's)")
    parser.add_argument("--models", nargs="+", default=["phantom-pgan-T1-T2", "phantom-nie-PD-T2"],
                        help="models to time (T1 or PD input, by the model's source contrast)")
    args = parser.parse_args()

    scene = slicer.vtkMRMLScene()
    slicer.mrmlScene = scene
    subject = make_subject(phantom_grid(tuple(args.shape)), seed=77, contrasts=("T1", "T2", "PD"))
    nodes = {contrast: addVolumeNode(scene, image, f"bench-{contrast}") for contrast, image in subject.images.items()}
    options = InferenceOptions(device="cpu", precision="fp32")
    print(f"# {date.today()}  {platform.processor() or platform.machine()}  shape {tuple(args.shape)}  "
          f"median of {args.repeats}")
    print("| model | in Slicer's process (s) | child process (s) | longest GUI-thread poll (ms) |")
    print("|---|---|---|---|")
    synthetic = None
    for model in args.models:
        source = "PD" if "-PD-" in model else "T1"
        direct, synthetic = timed(lambda: SynthesisLogic().synthesize(nodes[source], model, options),  # noqa: B023
                                        args.repeats)
        child, (_, poll) = timed(lambda: background(nodes[source], model, options), args.repeats)  # noqa: B023
        print(f"| {model} | {direct:.2f} | {child:.2f} | {poll * 1000:.1f} |")
    compare_time, _ = timed(lambda: ComparisonLogic().compare(synthetic, nodes["T2"]), args.repeats)
    print(f"\ncomparison (difference volume, overlay, metrics table): {compare_time:.2f} s")
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
