#!/usr/bin/env python
"""Does the trust mask catch the lesions a model gets wrong, on unseen real patients?

    .venv/bin/python scripts/study_trust.py --data ../shared/data/multicontrast --source T1 --target FLAIR \\
        --work runs/study11-T1-FLAIR --out results/trust-T1-FLAIR
    .venv/bin/python scripts/study_trust.py --templates ../shared/data/templates --out results/trust-phantoms

First, checks that need no model: the record of 3 lesion-free phantom FLAIR heads, and the untrusted mask
of 6 phantom heads with a lesion (bright on FLAIR: tissue those heads never showed, on one side of a
mirror-symmetric head); with ``--templates``, the share of each lesion-free MNI template (avg152 T1, T2, PD:
healthy brains' own asymmetry) that the asymmetry check flags. Without ``--data`` that is all.

For every fold of a ``scripts/study_recipes.py`` study (``--work``, ``--recipe``) whose held-out subjects have a
lesion mask (``--lesion``: the whole-tumour masks of the BraTS 2018 patients), the fold's model synthesizes
the held-out subject, and each candidate signal marks voxels as not trustworthy:

- ``novelty C``: the input's voxel features fall in a cell of feature space that the fold's training inputs
  left empty (``medsynth.trust``; the record is built from the fold's training subjects, as the trainer
  does, keeping the cells that hold a share ``C`` of their voxels);
- ``planes K``: the three planes' syntheses disagree (their SD) by more than ``K`` times its median in the
  head;
- ``novelty + planes``: either;
- ``asymmetry``: the input differs from its mirror image across the midline the way lesions do in its
  contrast (``medsynth.asymmetry``);
- ``trust mask``: novelty (the trainer's coverage) or asymmetry, as ``medsynth.trust.check`` makes it.

Against the calibrated error (least squares to the reference inside its foreground): the fraction of lesion
voxels flagged, the fraction of lesion voxels with a large error (above the 90th percentile of the error in
normal brain) flagged, and the fraction of normal brain flagged (the head outside the lesion dilated by
2 mm); and PSNR inside the lesion for the model next to the voxel map (the joint histogram fitted on the
fold's training subjects).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

import numpy as np
from medsynth import trust
from medsynth.asymmetry import asymmetric_mask
from medsynth.baselines import fit_baseline
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.core import intensity
from medsynth.core.contrasts import canonical_contrast
from medsynth.core.conventions import calibrate
from medsynth.core.files import atomic_output
from medsynth.inference import InferenceOptions, synthesize
from medsynth.io import read_volume
from medsynth.loso import PERCENTILE, folds, load_subjects
from medsynth.mask import drop_small, foreground_mask
from medsynth.metrics import psnr
from medsynth.phantom import make_subject, phantom_grid
from medsynth.volume import PLANES
from scipy import ndimage
from study_recipes import finished_model
from tqdm import tqdm

COVERAGES = (0.995, trust.COVERAGE, 0.9999)
PLANE_FACTORS = (3.0, 5.0)
LARGE_ERROR_QUANTILE = 0.9
PHANTOM_LESION = 10  # medsynth.phantom.tissues


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of real subjects (without it: the phantom check only)")
    parser.add_argument("--pattern", action="append", default=None,
                        help="file pattern with {subject} and {contrast} (repeatable)")
    parser.add_argument("--source", default="T1", help="acquired contrast of the models (default T1)")
    parser.add_argument("--target", default="FLAIR", help="their target contrast (default FLAIR)")
    parser.add_argument("--lesion", default="{subject}/{subject}-tumour.nii.gz",
                        help="lesion mask file pattern under --data (subjects without one are skipped)")
    parser.add_argument("--templates", type=Path, default=None,
                        help="folder of lesion-free templates (avg152T1.nii, avg152T2.nii, avg152PD.nii): the share "
                             "of each head the asymmetry check flags")
    parser.add_argument("--work", type=Path, default=None, help="the study_recipes.py --work folder of the models")
    parser.add_argument("--recipe", default="+planes", help="the models' recipe (their runs' folder name)")
    parser.add_argument("--folds", choices=("subject", "source"), default="subject",
                        help="the models' folds: one subject, or every subject of one source, held out at a time")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.md")
    args = parser.parse_args(argv)
    args.source, args.target = canonical_contrast(args.source), canonical_contrast(args.target)
    return args


def plane_spread(acquired, loaded, device: str) -> np.ndarray:
    """The SD of the three planes' syntheses (each uncalibrated, the network's own output)."""
    runs = [synthesize(acquired, loaded, InferenceOptions(axis=plane, device=device, precision="fp32",
                                                          calibrate=False)).array for plane in PLANES]
    return np.std(runs, axis=0)


def signals(acquired, loaded, records: dict[float, dict], spread: np.ndarray, head: np.ndarray,
            contrast: str) -> dict:
    """Each candidate's untrusted mask on one subject (``acquired``, of ``contrast``)."""
    normalized = trust_input(acquired, loaded.card, head)
    found = {f"novelty {c}": trust.untrusted_mask(acquired, normalized, head, r) for c, r in records.items()}
    median = float(np.median(spread[head]))
    voxel_ml = float(np.prod(acquired.spacing)) / 1000.0
    for k in PLANE_FACTORS:
        found[f"planes {k:g}"] = drop_small(head & (spread > k * median), trust.MIN_REGION_ML / voxel_ml)
    found["novelty + planes"] = found[f"novelty {trust.COVERAGE}"] | found[f"planes {PLANE_FACTORS[0]:g}"]
    found["asymmetry"] = asymmetric_mask(acquired, head, contrast)
    found["trust mask (novelty + asymmetry)"] = found[f"novelty {trust.COVERAGE}"] | found["asymmetry"]
    return found


def trust_input(volume, card, head: np.ndarray) -> np.ndarray:
    return intensity.apply(intensity.fit(card.source_normalization, volume.array, head), volume.array)


def judged(flags: np.ndarray, image: np.ndarray, voxel_map: np.ndarray, reference: np.ndarray,
           lesion: np.ndarray, head: np.ndarray) -> dict[str, float]:
    mask = foreground_mask(reference)
    data_range = float(reference.max() - reference.min())
    error = np.abs(calibrate(image, reference, mask) - reference)
    map_error = np.abs(calibrate(voxel_map, reference, mask) - reference)
    normal = head & ~ndimage.binary_dilation(lesion, iterations=2)
    large = lesion & (error > np.quantile(error[normal], LARGE_ERROR_QUANTILE))
    return {"lesion_ml": float(lesion.sum()) / 1000.0, "flagged_ml": float(flags.sum()) / 1000.0,
            "psnr_model": psnr(float(np.mean(error[lesion] ** 2)), data_range),
            "psnr_map": psnr(float(np.mean(map_error[lesion] ** 2)), data_range),
            "caught": float(flags[lesion].mean()), "caught_large": float(flags[large].mean()) if large.any() else 0.0,
            "large_share": float(large.sum() / lesion.sum()), "normal": float(flags[normal].mean())}


def report(found: dict[str, dict[str, dict[str, float]]], title: str) -> list[str]:
    lines = [title, "", "| subject | signal | lesion mL | PSNR in lesion, model / voxel map | lesion flagged | "
             "large-error lesion flagged | normal brain flagged | flagged mL |", "|---" * 8 + "|"]
    for subject, per in found.items():
        for signal, f in per.items():
            lines.append(f"| {subject} | {signal} | {f['lesion_ml']:.1f} | {f['psnr_model']:.2f} / "
                         f"{f['psnr_map']:.2f} | {f['caught']:.1%} | {f['caught_large']:.1%} "
                         f"({f['large_share']:.0%} of lesion) | {f['normal']:.2%} | {f['flagged_ml']:.1f} |")
    lines += ["", "| signal | lesion flagged (mean) | large-error lesion flagged (mean, worst) | normal brain flagged "
              "(mean, worst) |", "|---" * 4 + "|"]
    for signal in next(iter(found.values())):
        values = [per[signal] for per in found.values()]
        caught = [v["caught_large"] for v in values]
        normal = [v["normal"] for v in values]
        lines.append(f"| {signal} | {np.mean([v['caught'] for v in values]):.1%} | {np.mean(caught):.1%}, "
                     f"{min(caught):.1%} | {np.mean(normal):.2%}, {max(normal):.2%} |")
    return [*lines, ""]


def phantom_check() -> list[str]:
    """The untrusted mask of phantom FLAIR heads with a lesion, against the record of lesion-free ones."""
    grid = phantom_grid((64, 72, 56), spacing=(2.0, 2.0, 2.0))
    percentile = {"kind": "percentile", "percentiles": [1.0, 99.0]}

    def head(index: int, lesion: bool):
        subject = make_subject(grid, seed=5, index=index, contrasts=("FLAIR",), lesion_probability=float(lesion),
                               symmetric=True)
        volume = subject.images["FLAIR"]
        mask = foreground_mask(volume.array)
        normalized = intensity.apply(intensity.fit(percentile, volume.array, mask), volume.array)
        return volume, normalized, mask, subject.labels["FLAIR"].array == PHANTOM_LESION

    record = trust.summarize([(v, m) for v, _, m, _ in (head(k, False) for k in range(3))], percentile)
    lines = ["### The trust mask on phantom heads: FLAIR lesions on one side that the record's 3 heads never had",
             "",
             "| head | signal | lesion mL | lesion flagged | rest of the head flagged | flagged mL |", "|---" * 6 + "|"]
    for index in range(3, 9):
        volume, normalized, mask, lesion = head(index, True)
        novel = trust.untrusted_mask(volume, normalized, mask, record)
        asymmetric = asymmetric_mask(volume, mask, "FLAIR")
        voxel_ml = float(np.prod(volume.spacing)) / 1000
        for signal, flags in (("novelty", novel), ("asymmetry", asymmetric), ("trust mask", novel | asymmetric)):
            lines.append(f"| phantom {index + 1} | {signal} | {lesion.sum() * voxel_ml:.2f} | "
                         f"{flags[lesion].mean():.1%} | {flags[mask & ~lesion].mean():.2%} | "
                         f"{flags.sum() * voxel_ml:.2f} |")
    return [*lines, ""]


def template_check(folder: Path) -> list[str]:
    """The share of each lesion-free template head that the asymmetry check flags (healthy brains' own
    asymmetry: what it must leave alone)."""
    lines = ["### The asymmetry check on lesion-free templates", "",
             "| template | contrast | flagged mL | share of the head |", "|---|---|---|---|"]
    for contrast in ("T1", "T2", "PD"):
        volume = read_volume(folder / f"avg152{contrast}.nii")
        head = foreground_mask(volume.array)
        flags = asymmetric_mask(volume, head, contrast)
        lines.append(f"| avg152{contrast} | {contrast} | {flags.sum() * np.prod(volume.spacing) / 1000:.1f} | "
                     f"{flags[head].mean():.2%} |")
    return [*lines, ""]


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.ERROR)
    lines = phantom_check() + (template_check(args.templates) if args.templates else [])
    if args.data is None:
        return write(args, argv, lines)
    if args.work is None:
        raise SystemExit("--work is needed with --data: the study_recipes.py folder of the models")
    volumes = load_subjects(args.data, args.pattern, [args.source], args.target)
    lesions = {s: args.data / args.lesion.format(subject=s) for s in volumes}
    lesions = {s: f for s, f in lesions.items() if f.exists()}
    if not lesions:
        raise SystemExit(f"no lesion mask matches {args.data}/{args.lesion}")
    found = {}
    for fold, held_out, train in tqdm(folds(volumes, args.folds), unit="fold", desc="trust"):
        if not any(h in lesions for h in held_out):
            continue
        loaded = load_model(finished_model(args.work, args.recipe, held_out))
        inputs = [volumes[s][0][args.source] for s in train]
        records = {c: trust.summarize([(v, foreground_mask(v.array)) for v in inputs],
                                      loaded.card.source_normalization, coverage=c) for c in COVERAGES}
        pairs = [(volumes[s][0][args.source], volumes[s][1], None) for s in train]
        model, card = fit_baseline("joint_histogram", pairs, args.source, args.target,
                                   normalizations=(PERCENTILE, PERCENTILE))
        baseline = LoadedModel(model.eval(), card)
        for held in (h for h in held_out if h in lesions):
            acquired, reference = volumes[held]
            volume = acquired[args.source]
            head = foreground_mask(volume.array)
            lesion = read_volume(lesions[held]).array > 0
            options = InferenceOptions(device=args.device, precision="fp32")
            image = synthesize(volume, loaded, options).array
            mapped = synthesize(volume, baseline, options).array
            spread = plane_spread(volume, loaded, args.device)
            found[held] = {name: judged(flags, image, mapped, reference.array, lesion, head)
                           for name, flags in signals(volume, loaded, records, spread, head, args.source).items()}
        tqdm.write(f"{fold}: done")
    protocol = "leave-one-subject-out" if args.folds == "subject" else "leave-one-source-out"
    lines += report(found, f"### {args.source} -> {args.target}: the trust mask on lesions, {protocol} on "
                           f"{len(found)} patients ({args.recipe})")
    return write(args, argv, lines)


def write(args: argparse.Namespace, argv: list[str], lines: list[str]) -> int:
    lines = [*lines, f"`scripts/study_trust.py {' '.join(argv)}` ({date.today().isoformat()})."]
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
