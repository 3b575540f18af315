#!/usr/bin/env python
"""One model, an ensemble of models, or one model distilled from the ensemble: which holds up on unseen subjects.

    .venv/bin/python scripts/study_ensembles.py --data ../shared/data/multicontrast --source T1 --target T2 \\
        --members runs/study-T1-T2 runs/study-T1-T2-seed1 runs/study-T1-T2-seed2 --folds source \\
        --distill runs/distill-T1-T2 --out results/ensembles-T1-T2

The members are ``scripts/study_recipes.py`` runs of one recipe trained with different seeds (one ``--work``
folder per seed, the same ``--folds``): for every fold, the held-out subjects are synthesized by each member
and by the members' voxel-wise mean, and scored next to the voxel-wise baselines under both conventions
(``medsynth.loso``). (How well the members' disagreement flags error: ``scripts/study_uncertainty.py``.)

``--distill`` adds a student per fold: the recipe's network trained on the fold's training subjects with the
ensemble's output as its target, so it costs one member's time at inference. Its training takes
``scripts/study_recipes.py``'s options and defaults (``--epochs``, ``--slices``, ``--batch-size``, ``--ngf``,
``--size``, ``--lr``, ``--seed``), given after this script's own. Finished runs are reused, so an
interrupted study resumes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from medsynth.checkpoint import load_model
from medsynth.core.contrasts import canonical_contrast
from medsynth.inference import InferenceOptions
from medsynth.io import write_volume
from medsynth.loso import (
    add_data_arguments,
    baselines,
    folds,
    load_subjects,
    rows_for,
    run_method,
    score,
    summary,
    train_once,
    write_report,
)
from study_recipes import finished_model, overrides
from tqdm import tqdm

PSEUDO_PATTERN = "{subject}/{subject}-{contrast}.nii.gz"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--members", nargs="+", type=Path, required=True,
                        help="the study_recipes.py --work folder of each member (one per seed)")
    parser.add_argument("--recipe", default="+planes", help="the members' recipe (their runs' folder name)")
    parser.add_argument("--folds", choices=("subject", "source"), default="subject",
                        help="the members' folds: one subject, or every subject of one source, held out at a time")
    parser.add_argument("--distill", type=Path, default=None,
                        help="folder for the distilled students' runs and pseudo-target data (default: no student)")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    args, student_options = parser.parse_known_args(argv)
    args.inputs, args.target = [canonical_contrast(c) for c in args.source], canonical_contrast(args.target)
    args.student = student_settings(args, student_options)
    return args


def ensemble_image(members, acquired, options):
    """The members' voxel-wise mean (each in the target's units, on the input's grid) and the seconds it took."""
    start = time.perf_counter()
    images = [run_method(m, acquired, options) for m in members]
    mean = np.mean([i.array for i in images], axis=0, dtype=np.float64).astype(np.float32)
    return images, images[0].with_array(mean), time.perf_counter() - start


def student(args, volumes, members, train_on: list[str], held: list[str], options) -> Path:
    """The fold's distilled student: trained on the ensemble's output for each training subject."""
    data = args.distill / "data" / "+".join(held)
    for name in train_on:
        acquired, _ = volumes[name]
        folder = data / name
        if (folder / f"{name}-{args.target}.nii.gz").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for contrast in args.inputs:
            write_volume(acquired[contrast], folder / f"{name}-{contrast}.nii.gz", overwrite=True)
        _, mean, _ = ensemble_image(members, acquired, options)
        write_volume(mean, folder / f"{name}-{args.target}.nii.gz", overwrite=True)
    settings = overrides(args.recipe, args.student, data, train_on, held)
    settings.update({"output": str(args.distill / f"student-ngf{args.student.ngf}" / "+".join(held)),
                     "data.patterns": [PSEUDO_PATTERN], "name": f"distilled-{'+'.join(args.inputs)}-{args.target}"})
    return train_once(settings, f"student {'+'.join(held)}")


def student_settings(args: argparse.Namespace, options: list[str]) -> argparse.Namespace:
    """The study_recipes.py settings of the students: its defaults (the members'), changed by ``options``."""
    import study_recipes

    recipe = study_recipes.parse(["--data", str(args.data), "--source", *args.source, "--target", args.target,
                                  "--work", str(args.distill), "--out", str(args.out), "--device", args.device,
                                  *options])
    recipe.inputs, recipe.target, recipe.pattern = args.inputs, args.target, None
    return recipe


def run(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    volumes = load_subjects(args.data, args.pattern, args.inputs, args.target)
    options = InferenceOptions(device=args.device, precision="fp32")  # figures in the reference precision
    rows, timing = [], []
    for fold, held_out, train_on in tqdm(folds(volumes, args.folds), unit="fold", desc="ensembles"):
        members = [load_model(finished_model(work, args.recipe, held_out)) for work in args.members]
        fitted = baselines([volumes[n] for n in train_on], args.inputs, args.target)
        distilled = load_model(student(args, volumes, members, train_on, held_out, options)) if args.distill else None
        for held in held_out:
            acquired, reference = volumes[held]
            for method, loaded in fitted.items():
                rows += rows_for(held, method, score(run_method(loaded, acquired, options), reference))
            images, mean, seconds = ensemble_image(members, acquired, options)
            for k, image in enumerate(images):
                rows += rows_for(held, f"{args.recipe} seed {k}", score(image, reference))
            rows += rows_for(held, f"{args.recipe} ensemble of {len(members)}", score(mean, reference))
            line = f"{held}: ensemble {seconds:.1f} s"
            if distilled is not None:
                start = time.perf_counter()
                image = run_method(distilled, acquired, options)
                line += f", student {time.perf_counter() - start:.1f} s"
                rows += rows_for(held, f"{args.recipe} distilled (ngf {args.student.ngf})", score(image, reference))
            timing.append(line)
        tqdm.write(f"{fold}: done")
    return rows, timing


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    rows, timing = run(args)
    mapping = "+".join(args.inputs)
    protocol = "leave-one-subject-out" if args.folds == "subject" else "leave-one-source-out"
    lines = summary(rows, mapping, args.target, f"### {mapping} -> {args.target}: one model, an ensemble, a distilled "
                                                f"student; {protocol} on {len({r['subject'] for r in rows})} subjects")
    lines += ["Synthesis time on this machine: " + "; ".join(timing) + ".", ""]
    lines.append(f"`scripts/study_ensembles.py {' '.join(argv)}` ({date.today().isoformat()}).")
    write_report(args.out, rows, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
