#!/usr/bin/env python
"""Skull stripping raw scans before synthesis: how good the brain mask is, how long it takes, and what it gives.

    .venv/bin/python scripts/study_skull_strip.py --templates ../shared/data/templates --out results/skull-strip

1. The brain mask (``medsynth.skull_strip``, deepbet) of phantom heads with skull and scalp, each contrast,
   against the phantom's own intracranial labels (CSF, grey and white matter, deep grey matter, lesion):
   Dice and seconds on this machine. The SPM avg152 templates have no reference mask: their T2 and PD
   masks are compared with the T1 mask, and each intracranial volume is given.
2. Synthesis from a skull-on input: ``--model`` (default the bundled T1 -> T2 model) on the phantom's and
   the template's skull-on T1, (a) as it is, (b) with ``--skull-strip``, and (c) stripped by the reference
   mask (the phantom's labels; for the template, which has none, the T1 extractor mask itself), each scored
   against the real T2 inside the reference brain under both conventions.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model
from medsynth.core.catalog import resolve_model
from medsynth.core.files import atomic_output
from medsynth.inference import InferenceOptions, synthesize
from medsynth.io import read_volume
from medsynth.loso import CONVENTIONS
from medsynth.phantom import make_subject, phantom_grid
from medsynth.pipeline import evaluate_conventions
from medsynth.skull_strip import brain_mask, strip
from tqdm import tqdm

INTRACRANIAL = (6, 7, 8, 9, 10)  # medsynth.phantom.tissues: csf, grey and white matter, deep grey, lesion
CONTRASTS = ("T1", "T2", "PD", "FLAIR")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=Path, default=None,
                        help="folder of the SPM avg152{T1,T2,PD}.nii templates (skipped if not given)")
    parser.add_argument("--phantoms", type=int, default=3, help="phantom heads (default 3)")
    parser.add_argument("--shape", type=int, nargs=3, default=(160, 192, 120), help="phantom grid (i j k)")
    parser.add_argument("--model", default="real-unet-T1-T2", help="T1 -> T2 model for part 2")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.md")
    return parser.parse_args(argv)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def timed_mask(volume, contrast: str, device: str) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    found = brain_mask(volume, contrast, device=device).mask
    return found, time.perf_counter() - start


def scores(loaded, t1, t2, reference: np.ndarray, found: np.ndarray, device: str) -> dict[str, dict[str, float]]:
    """PSNR / SSIM of the synthetic T2 inside ``reference`` for the three inputs of part 2."""
    options = InferenceOptions(device=device, precision="fp32")
    region = t2.with_array(reference.astype(np.uint8))
    out = {}
    for name, volume, mask in (("skull on, as it is", t1, None), ("--skull-strip", strip(t1, found), found),
                               ("stripped by the reference mask", strip(t1, reference), reference)):
        image = synthesize(volume, loaded, options, mask=mask)
        if mask is not None:
            image.array[~mask] = loaded.card.background
        evaluations = evaluate_conventions(image, t2, mask=region, conventions=CONVENTIONS, planes=False)
        out[name] = {c: e.metrics["mask"]["psnr"] for c, e in evaluations.items()}
    return out


def main(argv: list[str]) -> int:
    args = parse(argv)
    loaded = load_model(resolve_model(args.model))
    masks, synthesis = [], {}
    for index in tqdm(range(args.phantoms), unit="head", desc="phantoms"):
        subject = make_subject(phantom_grid(tuple(args.shape)), seed=2026, index=index, contrasts=CONTRASTS,
                               lesion_probability=0.5)
        reference = np.isin(subject.labels["T1"].array, INTRACRANIAL)
        found = {}
        for contrast in CONTRASTS:
            found[contrast], seconds = timed_mask(subject.images[contrast], contrast, args.device)
            masks.append({"head": f"phantom {index + 1}", "contrast": contrast,
                          "dice": dice(found[contrast], reference),
                          "ml": found[contrast].sum() * np.prod(subject.images[contrast].spacing) / 1000,
                          "seconds": seconds})
        synthesis[f"phantom {index + 1}"] = scores(loaded, subject.images["T1"], subject.images["T2"], reference,
                                                   found["T1"], args.device)
    if args.templates is not None:
        templates = {c: read_volume(args.templates / f"avg152{c}.nii") for c in ("T1", "T2", "PD")}
        found = {}
        for contrast, volume in templates.items():
            found[contrast], seconds = timed_mask(volume, contrast, args.device)
            masks.append({"head": "avg152 template", "contrast": contrast,
                          "dice": dice(found[contrast], found["T1"]) if contrast != "T1" else float("nan"),
                          "ml": found[contrast].sum() * np.prod(volume.spacing) / 1000, "seconds": seconds})
        synthesis["avg152 template"] = scores(loaded, templates["T1"], templates["T2"], found["T1"], found["T1"],
                                              args.device)
    lines = [f"### Brain masks of skull-on heads (deepbet; {args.phantoms} phantom heads "
             f"{'x'.join(map(str, args.shape))})", "",
             "| head | contrast | Dice with the reference | intracranial mL | seconds |", "|---|---|---|---|---|"]
    for row in masks:
        shown = "(T1 itself)" if np.isnan(row["dice"]) else f"{row['dice']:.3f}"
        lines.append(f"| {row['head']} | {row['contrast']} | {shown} | {row['ml']:.0f} | {row['seconds']:.1f} |")
    lines += ["", "Reference: the phantom's intracranial labels; for the template (no reference mask), the T1 mask.",
              "", "| contrast | Dice mean on phantoms | worst |", "|---|---|---|"]
    for contrast in CONTRASTS:
        values = [r["dice"] for r in masks if r["contrast"] == contrast and r["head"].startswith("phantom")]
        lines.append(f"| {contrast} | {np.mean(values):.3f} | {min(values):.3f} |")
    lines += ["", f"### Synthesis from a skull-on T1 with `{args.model}`: PSNR (dB) inside the reference brain", "",
              "| head | input | own-scale | calibrated |", "|---|---|---|---|"]
    for head, per in synthesis.items():
        for name, psnr in per.items():
            lines.append(f"| {head} | {name} | {psnr['own-scale']:.2f} | {psnr['calibrated']:.2f} |")
    lines += ["", f"`scripts/study_skull_strip.py {' '.join(argv)}` ({date.today().isoformat()}).", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out / "results.md") as tmp:
        tmp.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
