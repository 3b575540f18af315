#!/usr/bin/env python
"""Which uncertainty map flags error on unseen real subjects: the error model, flip, intensity, or members'
disagreement.

    .venv/bin/python scripts/study_uncertainty.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --work runs/study-T1-T2 --folds source --members runs/study-T1-T2-seed1 runs/study-T1-T2-seed2 \\
        --out results/uncertainty-T1-T2-source

For every fold, the ``scripts/study_recipes.py`` model that never saw the held-out subjects (``--work``,
``--recipe``) synthesizes each of them with each test-time ensemble of ``medsynth.inference`` (``flip``: with and
without a left-right flip; ``intensity``: as it is and through monotone intensity curves); with ``--members`` (the
work folders of the same recipe trained with other seeds), the members' disagreement too (their SD; the image is
their mean); and the error model (``medsynth.error_model``), its regression fitted, for each subject, on the other
subjects' errors (each from the model of its own fold: the regression never sees the judged subject's error), and
for the card on every subject's. Each map is judged against the absolute error of the image it comes with,
calibrated to the reference (least squares inside the reference's foreground, so the figures do not depend on
either intensity scale): Spearman correlation, the sparsification curve against the oracle and its area ratio
(``medsynth.flagging``), and the seconds it took on this machine. Each method's uncertainty calibration
(``medsynth.flagging.calibration``: the factor from SD to error and the 90th-percentile error, both on the
synthetic image's own scale, pooled over the held-out subjects) is written to calibration.json, which
``scripts/train_bundled.py --uncertainty-results`` puts in a bundled model's card; results.md gives, per subject,
the share of the head above that threshold by the map next to the share whose error is above it. A last table
gives, per subject, the Spearman correlation a map would reach if it knew the error exactly but only at the
resolution of a 1, 2 or 3 mm Gaussian: the part of the error that is voxel-to-voxel noise, which no smooth map can
rank.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.core.conventions import calibrate, own_scale, robust_range
from medsynth.core.files import atomic_output
from medsynth.core.options import ERROR_MODEL, UNCERTAINTY_METHODS
from medsynth.error_model import features, fit, predict
from medsynth.flagging import FRACTIONS, above_threshold, calibration, flagging
from medsynth.inference import InferenceOptions, synthesize_with_uncertainty
from medsynth.loso import add_data_arguments, folds, load_subjects
from medsynth.mask import foreground_mask
from scipy import ndimage
from scipy.stats import spearmanr
from study_recipes import finished_model
from tqdm import tqdm

MEMBERS = "members"
CEILING_MM = (1.0, 2.0, 3.0)  # Gaussian sigmas: the error itself, known only at this resolution
ENSEMBLES = tuple(m for m in UNCERTAINTY_METHODS if m not in ("auto", ERROR_MODEL))
CALIBRATION_VOXELS = 200_000  # per subject, drawn at random for the pooled calibration


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--work", type=Path, required=True, help="the study_recipes.py --work folder of the models")
    parser.add_argument("--recipe", default="+planes", help="the models' recipe (their runs' folder name)")
    parser.add_argument("--folds", choices=("subject", "source"), default="subject",
                        help="the models' folds: one subject, or every subject of one source, held out at a time")
    parser.add_argument("--members", nargs="*", type=Path, default=[],
                        help="further work folders of the recipe (other seeds): adds the members' disagreement")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.md")
    args = parser.parse_args(argv)
    args.inputs, args.target = [canonical_contrast(c) for c in args.source], canonical_contrast(args.target)
    return args


def judged(image: np.ndarray, spread: np.ndarray, reference: np.ndarray, seconds: float) -> dict:
    mask = foreground_mask(reference)
    error = np.abs(calibrate(image, reference, mask) - reference)[mask]
    lo, hi = robust_range(image, mask)  # the calibration's scale: the synthetic image's own (medsynth.flagging)
    pick = np.random.default_rng(0).permutation(int(mask.sum()))[:CALIBRATION_VOXELS]
    own_error = np.abs(own_scale(image, mask) - own_scale(reference, mask))[mask]
    own = (spread[mask] / max(hi - lo, 1e-12))[pick], own_error[pick]
    return {**flagging(spread[mask], error), "seconds": seconds, "own": own}


def maps(models, acquired: list, reference: np.ndarray, device: str) -> tuple[dict[str, dict], dict]:
    """Each ensemble's figures on one subject (``models[0]`` is the fold's model, the rest its other seeds), and
    what the error model needs there: the plain image, its features and its error (:func:`error_model_figures`)."""
    out = {}
    for method in ENSEMBLES:
        options = InferenceOptions(device=device, precision="fp32", uncertainty=method)
        start = time.perf_counter()
        result = synthesize_with_uncertainty(acquired, models[0], options)
        out[method] = judged(result.image.array, result.uncertainty.array, reference, time.perf_counter() - start)
    if len(models) > 1:
        options = InferenceOptions(device=device, precision="fp32")
        start = time.perf_counter()
        images = [synthesize_with_uncertainty(acquired, m, options, uncertainty=False).image.array for m in models]
        out[MEMBERS] = judged(np.mean(images, axis=0), np.std(images, axis=0), reference,
                              time.perf_counter() - start)
    # the error model: one plain synthesis, then its features (the intensity ensemble's image is the same
    # synthesis, but run again here so that the seconds are this method's own cost)
    start = time.perf_counter()
    image = synthesize_with_uncertainty(acquired, models[0], InferenceOptions(device=device, precision="fp32"),
                                        uncertainty=False).image
    head = foreground_mask(acquired[0].array)  # the engine's mask: the input's head
    found = features([a.array for a in acquired], image.array, head, image.spacing)
    seconds = time.perf_counter() - start
    mask = foreground_mask(reference)
    lo, hi = robust_range(reference, mask)  # the error on the reference's own scale, as calibrated for judging
    error = np.abs(calibrate(image.array, reference, mask) - reference) / max(hi - lo, 1e-12)
    pick = np.random.default_rng(0).permutation(int(head.sum()))[:CALIBRATION_VOXELS]
    return out, {"image": image.array, "head": head, "features": found, "error": error[head], "pick": pick,
                 "reference": reference, "seconds": seconds, "spacing": image.spacing}


def ceiling(image: np.ndarray, reference: np.ndarray, spacing) -> list[float]:
    """Spearman(map, |error|) for a map that knows the error exactly but only at the resolution of a Gaussian of
    each of ``CEILING_MM``: how much of the error is voxel-to-voxel noise that no smooth map can rank."""
    mask = foreground_mask(reference)
    error = np.where(mask, np.abs(calibrate(image, reference, mask) - reference), 0.0)
    pick = np.random.default_rng(0).permutation(int(mask.sum()))[:CALIBRATION_VOXELS]
    found = []
    for scale in CEILING_MM:
        sigma = scale / np.asarray(spacing, dtype=float)[::-1]
        known = ndimage.gaussian_filter(error, sigma) / np.maximum(ndimage.gaussian_filter(mask * 1.0, sigma), 1e-6)
        found.append(float(spearmanr(known[mask][pick], error[mask][pick]).statistic))
    return found


def ceiling_lines(pieces: dict[str, dict]) -> list[str]:
    lines = ["| subject | " + " | ".join(f"the error known at {s:g} mm" for s in CEILING_MM) + " |",
             "|---" * (1 + len(CEILING_MM)) + "|"]
    for subject, p in pieces.items():
        lines.append(f"| {subject} | " + " | ".join(f"{r:.3f}" for r in ceiling(p["image"], p["reference"],
                                                                                 p["spacing"])) + " |")
    return [*lines, ""]


def error_model_figures(pieces: dict[str, dict]) -> tuple[dict[str, dict], list[float]]:
    """Per subject, the error model fitted on every other subject's errors, judged as the ensembles are; and the
    coefficients fitted on all of them (for the card)."""
    rows = {s: (p["features"][p["pick"]], p["error"][p["pick"]]) for s, p in pieces.items()}
    out = {}
    for subject, p in pieces.items():
        start = time.perf_counter()
        coefficients = fit([rows[other] for other in pieces if other != subject])
        expected = np.zeros(p["image"].shape, dtype=np.float32)
        lo, hi = robust_range(p["image"], p["head"])
        expected[p["head"]] = predict(coefficients, p["features"]) * (hi - lo)
        out[subject] = judged(p["image"], expected, p["reference"], p["seconds"] + time.perf_counter() - start)
    return out, fit(list(rows.values()))


def report(found: dict[str, dict[str, dict[str, float]]], title: str) -> list[str]:
    tags = [round(f * 100) for f in FRACTIONS]
    lines = [title, "", "| subject | method | Spearman(SD, error) | " + " | ".join(
        f"error left, {t}% removed (oracle)" for t in tags) + " | area ratio (0 oracle, 1 chance) | seconds |",
        "|---" * (5 + len(tags)) + "|"]
    methods = list(dict.fromkeys(m for per in found.values() for m in per))
    for subject, per in found.items():
        for method, f in per.items():
            lines.append(f"| {subject} | {method} | {f['spearman']:.3f} | " + " | ".join(
                f"{f[f'left_{t}']:.3g} ({f[f'oracle_{t}']:.3g})" for t in tags)
                + f" | {f['area_ratio']:.2f} | {f['seconds']:.1f} |")
    lines += ["", "| method | Spearman mean | Spearman worst | area ratio mean | seconds mean |", "|---" * 5 + "|"]
    for method in methods:
        values = [per[method] for per in found.values() if method in per]
        rho = [v["spearman"] for v in values]
        lines.append(f"| {method} | {np.mean(rho):.3f} | {min(rho):.3f} | "
                     f"{np.mean([v['area_ratio'] for v in values]):.2f} | "
                     f"{np.mean([v['seconds'] for v in values]):.1f} |")
    return [*lines, ""]


def calibration_lines(found: dict, calibrated: dict) -> list[str]:
    """Per method, its calibration and, per subject, the share above the threshold by the map and in truth."""
    lines = ["| method | scale (SD -> error) | error threshold (own scale) | subject | share flagged | share with "
             "error above | flagged voxels with error above |", "|---" * 7 + "|"]
    for method, c in calibrated.items():
        for subject, per in found.items():
            if method not in per:
                continue
            sd, error = per[method]["own"]
            flagged, wrong = c["scale"] * sd > c["threshold"], error > c["threshold"]
            precision = f"{wrong[flagged].mean():.0%}" if flagged.any() else "-"
            lines.append(f"| {method} | {c['scale']:.3g} | {c['threshold']:.3g} | {subject} | "
                         f"{above_threshold(sd, c):.1%} | {wrong.mean():.1%} | {precision} |")
    return [*lines, ""]


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    volumes = load_subjects(args.data, args.pattern, args.inputs, args.target)
    found, pieces = {}, {}
    for fold, held_out, _ in tqdm(folds(volumes, args.folds), unit="fold", desc="uncertainty"):
        models = [load_model(finished_model(work, args.recipe, held_out)) for work in (args.work, *args.members)]
        for held in held_out:
            acquired, reference = volumes[held]
            found[held], pieces[held] = maps(models, [acquired[c] for c in args.inputs], reference.array,
                                             args.device)
        tqdm.write(f"{fold}: done")
    by_error_model, coefficients = error_model_figures(pieces)
    for subject, figures in by_error_model.items():
        found[subject] = {ERROR_MODEL: figures, **found[subject]}
    mapping = "+".join(args.inputs)
    protocol = "leave-one-subject-out" if args.folds == "subject" else "leave-one-source-out"
    members = f", {1 + len(args.members)} members" if args.members else ""
    lines = report(found, f"### {mapping} -> {args.target}: uncertainty against calibrated error, {protocol} on "
                          f"{len(found)} subjects ({args.recipe}{members})")
    lines.append(f"`scripts/study_uncertainty.py {' '.join(argv)}` ({date.today().isoformat()}).")
    measured = f"{protocol}, {len(found)} subjects, {args.recipe} ({date.today().isoformat()})"
    calibrated = {method: {**calibration([per[method]["own"] for per in found.values() if method in per]),
                           "measured": measured}
                  for method in dict.fromkeys(m for per in found.values() for m in per)}
    calibrated[ERROR_MODEL]["coefficients"] = coefficients
    lines[-1:-1] = calibration_lines(found, calibrated) + ceiling_lines(pieces)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out / "calibration.json") as tmp:
        tmp.write_text(json.dumps(calibrated, indent=1))
    with atomic_output(args.out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
