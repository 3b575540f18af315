#!/usr/bin/env python
"""Render docs/results.md's picture of where not to trust a synthetic image, on real subjects no model saw.

    .venv/bin/python scripts/render_trust_figure.py --data ../shared/data/multicontrast \\
        [--out docs/images/where-not-to-trust.png]

Top row: T1 -> T2 on TCGA-FG-6692, by the ``+planes+nyul+adv`` model trained without its source
(``scripts/study_recipes.py --folds source``, ``--t2-work``): the input, the synthetic and the real T2, the
calibrated absolute error and the error model's map (the bundled model's coefficients, fitted on all four T1/T2
subjects, this one included: the figure shows what the map looks like; docs/results.md scores it on subjects
left out). Bottom row: FLAIR -> T1 on Brats18_CBICA_ASA_1, by the ``+planes`` model trained without the CBICA
site (``--t1-work``): the input, the synthetic and the real T1, the error, and the trust mask (red) with the
whole-tumour mask's outline (yellow). One axial slice each, through the lesion's largest cross-section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: renders headless
from medsynth.checkpoint import load_model
from medsynth.core.catalog import load_catalog
from medsynth.core.conventions import calibrate, robust_range
from medsynth.core.options import ERROR_MODEL
from medsynth.error_model import error_map
from medsynth.inference import InferenceOptions, synthesize_with_uncertainty
from medsynth.io import read_volume
from medsynth.loso import load_subjects
from medsynth.mask import foreground_mask
from study_recipes import finished_model

ROOT = Path(__file__).resolve().parents[1]
CPU = InferenceOptions(device="cpu", precision="fp32", uncertainty="intensity")


def axial(volume, array: np.ndarray, index: int) -> np.ndarray:
    """Slice ``index`` along the volume's axial axis, shown with anterior up."""
    return np.flipud(np.take(array, index, axis=volume.slice_axis("axial")).T)


def row(axes, volume, panels: list[tuple[str, np.ndarray, str]], index: int, overlays=()) -> None:
    for ax, (title, array, cmap) in zip(axes, panels, strict=True):
        picture = axial(volume, array, index)
        lo, hi = robust_range(array, array != 0) if cmap == "gray" else (0.0, float(np.percentile(array, 99.5)))
        ax.imshow(picture, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    for mask, colour in overlays:  # drawn on the last panel
        axes[-1].contour(axial(volume, mask.astype(np.float32), index), levels=[0.5], colors=colour,
                         linewidths=0.8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="../shared/data/multicontrast")
    parser.add_argument("--t2-work", type=Path, default=Path("runs/study-T1-T2-ngf16"),
                        help="study_recipes.py --work of the T1 -> T2 models")
    parser.add_argument("--t1-work", type=Path, default=Path("runs/study-FLAIR-T1"),
                        help="study_recipes.py --work of the FLAIR -> T1 models")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/where-not-to-trust.png")
    args = parser.parse_args()
    figure = Figure(figsize=(10, 4.4), dpi=110)
    axes = figure.subplots(2, 5)

    volumes = load_subjects(args.data, None, ["T1"], "T2")
    acquired, reference = volumes["TCGA-FG-6692"]
    t1 = acquired["T1"]
    loaded = load_model(finished_model(args.t2_work, "+planes+nyul+adv", ["TCGA-DU-7294", "TCGA-FG-6692"]))
    image = synthesize_with_uncertainty(t1, loaded, CPU, uncertainty=False).image.array
    head = foreground_mask(t1.array)
    bundled = next(e for e in load_catalog() if e.name == "real-unet-T1-T2").card
    expected = error_map(bundled.uncertainty_calibration(ERROR_MODEL)["coefficients"], [t1.array], image, head,
                         t1.spacing)
    mask = foreground_mask(reference.array)
    error = np.where(mask, np.abs(calibrate(image, reference.array, mask) - reference.array), 0.0)
    index = t1.array.shape[t1.slice_axis("axial")] // 2 + 10
    row(axes[0], t1, [("T1 (input)", t1.array, "gray"), ("synthetic T2", image, "gray"),
                      ("real T2", reference.array, "gray"), ("|error| (calibrated)", error, "magma"),
                      ("error model's map", expected, "magma")], index)

    patient = "Brats18_CBICA_ASA_1"
    volumes = load_subjects(args.data, None, ["FLAIR"], "T1")
    acquired, reference = volumes[patient]
    flair = acquired["FLAIR"]
    held = sorted(s for s in volumes if s.startswith("Brats18_CBICA"))
    result = synthesize_with_uncertainty(flair, load_model(finished_model(args.t1_work, "+planes", held)), CPU,
                                         uncertainty=False)
    image = result.image.array
    lesion = read_volume(args.data / patient / f"{patient}-tumour.nii.gz").array > 0
    mask = foreground_mask(reference.array)
    error = np.where(mask, np.abs(calibrate(image, reference.array, mask) - reference.array), 0.0)
    axis = flair.slice_axis("axial")
    index = int(np.argmax(lesion.sum(axis=tuple(a for a in range(3) if a != axis))))
    untrusted = result.untrusted.array > 0 if result.untrusted is not None else np.zeros_like(lesion)
    row(axes[1], flair, [("FLAIR (input)", flair.array, "gray"), ("synthetic T1", image, "gray"),
                         ("real T1", reference.array, "gray"), ("|error| (calibrated)", error, "magma"),
                         ("trust mask (red), tumour (yellow)", flair.array, "gray")], index,
        overlays=[(untrusted, "red"), (lesion, "yellow")])
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
