#!/usr/bin/env python
"""Render the README's and the extension's screenshot: what MedSynth's three slice views show after a
synthesis with a reference (synthetic T2w with the difference map added on top), through Slicer's own
slice logic on a real MRML scene (slicer-core; no GUI or OpenGL).

    .venv/bin/python scripts/render_screenshot.py [--out Resources/Screenshots/difference.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "MedSynth"))  # MedSynthLib outside Slicer

import slicer
from matplotlib.figure import Figure  # no pyplot: renders headless
from medsynth.phantom import make_subject, phantom_grid
from MedSynthLib.OutputNodes import placeNextTo
from MedSynthLib.Parameters import SynthesisParameters, getParameterNode
from MedSynthLib.RunLogic import runFromParameters
from MedSynthLib.SliceViews import createSliceViews, releaseSliceViews, renderSliceView
from MedSynthLib.VolumeConversion import addVolumeNode

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "Resources/Screenshots/difference.png",
                        help="PNG to write (default: the extension's screenshot)")
    parser.add_argument("--model", default="phantom-pgan-T1-T2", help="model to run (default phantom-pgan-T1-T2)")
    args = parser.parse_args()

    scene = slicer.vtkMRMLScene()
    slicer.mrmlScene = scene
    views = createSliceViews(scene)
    subject = make_subject(phantom_grid((256, 256, 150)), seed=4242, contrasts=("T1", "T2"), lesion_probability=1.0)
    nodes = {}
    for contrast in ("T1", "T2"):
        nodes[contrast] = addVolumeNode(scene, subject.images[contrast], f"phantom-{contrast}")
        placeNextTo(nodes[contrast], nodes[contrast])
    parameter_node = getParameterNode(scene)
    SynthesisParameters(inputVolume=nodes["T1"], referenceVolume=nodes["T2"], model=args.model,
                        mapping="T1->T2").write(parameter_node)
    metrics = runFromParameters(parameter_node).metrics["mask"]

    fig = Figure(figsize=(12, 4.4), facecolor="black")
    axes = fig.subplots(1, 3)
    for ax, (name, orientation) in zip(axes, (("Red", "Axial"), ("Yellow", "Sagittal"), ("Green", "Coronal")),
                                       strict=True):
        ax.imshow(renderSliceView(views[name], 360, 360)[..., :3])
        ax.set_title(orientation, color="white")
        ax.axis("off")
    fig.suptitle(f"{args.model}: synthetic T2w + (synthetic - real) added in blue (too dark) / red (too bright); "
                 f"PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim_3d']:.3f} in the head", color="white",
                 fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100, facecolor="black")
    releaseSliceViews(views)


if __name__ == "__main__":
    main()
