#!/usr/bin/env python
"""MRI -> CT without pairs (seed 004): CycleGAN trained unpaired, tested on pairs it never saw, in HU.

    .venv/bin/python scripts/study_mri_to_ct.py --templates ../shared/data/templates --work runs/mri-ct \\
        --out results/mri-ct

Training is unpaired: T1 images of some phantom heads and CT images of *other* phantom heads (their own
anatomy, ``medsynth phantom --unpaired`` style), on a grid of ``--spacing`` mm. No registration, no pair.
Testing is on pairs never trained on: the avg152T1 / scct template pair (real anatomy; scct converted from
Cormack units to HU, as ``medsynth prepare --ct-units cormack`` does) and paired phantom heads. Every method is
scored on raw HU inside the head: MAE (HU), PSNR and SSIM over the CT window (-1024..3071 HU), and the Dice of
bone (HU > 300), next to the voxel-wise baselines: histogram matching and the joint histogram, both fitted on
*paired* phantom heads (the joint histogram needs pairs CycleGAN never sees, so it is favoured). On T1, bone and
air are both dark, so no voxel map can place bone: that is where context must win.

Mosaics (``mosaic-*.png`` in ``--out``: T1, synthetic CT, reference CT and their difference in three planes)
show CycleGAN and the joint histogram on every test pair. CycleGAN's second generator (CT -> MRI) is scored
too, on the same pairs the other way round, under the two conventions of the real-data protocol (own-scale and
calibrated: T1 has no absolute unit), next to identity, histogram matching and the joint histograms fitted
CT -> T1 on the paired heads.

``--bundle`` adds each generator that beats the best baseline to the bundled catalog: ``phantom-cyclegan-T1-CT``
if its mean PSNR is higher and its mean MAE lower over the test pairs, ``phantom-cyclegan-CT-T1`` if its mean
margin is positive under both conventions. Its card carries these figures; a generator that falls short is
said so and left out.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import date
from pathlib import Path

from medsynth.baselines import fit_baseline
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.core.intensity import CT_WINDOW, cormack_to_hounsfield
from medsynth.core.run_folder import REVERSE_MODEL_FILE
from medsynth.inference import InferenceOptions, synthesize
from medsynth.io import read_volume
from medsynth.loso import baselines as fit_baselines
from medsynth.loso import bundle, margins, rows_for, run_method, summary, train_once, write_report
from medsynth.loso import score as score_conventions
from medsynth.mask import foreground_mask
from medsynth.metrics import BONE_HU, bone_dice
from medsynth.mosaic import difference_mosaic
from medsynth.phantom import make_subject, phantom_grid, write_phantom_dataset
from medsynth.pipeline import evaluate_volumes

METRICS = ("mae_hu", "psnr", "ssim_3d", "bone_dice")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=Path, required=True, help="folder holding avg152T1.nii and scct.nii")
    parser.add_argument("--phantoms", type=int, default=6, help="phantom heads per domain (T1 ones, CT ones)")
    parser.add_argument("--shape", type=int, nargs=3, default=(120, 144, 90), metavar=("X", "Y", "Z"),
                        help="phantom grid (default: 2 mm voxels over IXI's field of view)")
    parser.add_argument("--spacing", type=float, default=2.0, help="training voxel size in mm (the templates': 2)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--slices", type=int, default=300, help="source slices drawn per epoch")
    parser.add_argument("--ngf", type=int, default=16, help="generator width (CycleGAN's: 64)")
    parser.add_argument("--size", type=int, default=128, help="training window in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, required=True, help="folder of the data and the run (reused)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.csv and results.md")
    parser.add_argument("--bundle", action="store_true",
                        help="add the generators that beat the best baseline to the bundled catalog")
    parser.add_argument("--catalog", type=Path, default=None,
                        help="catalog folder for --bundle (default: the bundled models of this checkout)")
    return parser.parse_args(argv)


def datasets(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Unpaired T1 heads, CT heads of other anatomy, and paired heads for the baselines (written once)."""
    folders = tuple(args.work / name for name in ("t1", "ct", "paired"))
    for folder, seed, contrasts in zip(folders, (11, 12, 13), (("T1",), ("CT",), ("T1", "CT")), strict=True):
        if not folder.exists():
            write_phantom_dataset(folder, args.phantoms, shape=args.shape, seed=seed, contrasts=contrasts)
    return folders


def cyclegan(args: argparse.Namespace, t1: Path, ct: Path) -> tuple[LoadedModel, LoadedModel]:
    """The trained run's T1 -> CT generator and its CT -> T1 one."""
    path = train_once({
        "model.architecture": "cyclegan", "name": "study-cyclegan-T1-CT", "output": str(args.work / "cyclegan"),
        "seed": args.seed, "device": args.device, "data.root": str(t1), "data.target_root": str(ct),
        "data.source": "T1", "data.target": "CT", "data.spacing": args.spacing, "data.size": args.size,
        "model.hyperparameters": {"ngf": args.ngf}, "model.discriminator_hyperparameters": {"ndf": args.ngf},
        "optim.epochs": args.epochs, "optim.slices_per_epoch": args.slices, "validation.samples": False},
        "cyclegan T1->CT")
    return load_model(path), load_model(path.with_name(REVERSE_MODEL_FILE))


def paired_heads(paired: Path) -> list[tuple]:
    return [(read_volume(p), read_volume(p.with_name(p.name.replace("-T1.", "-CT."))))
            for p in sorted(paired.glob("*-T1.nii.gz"))]


def baselines(heads: list[tuple]) -> dict[str, LoadedModel]:
    pairs = [(t1, ct, None) for t1, ct in heads]
    methods = {}
    for kind, short in (("histogram_matching", "histmatch"), ("joint_histogram", "jointhist")):
        model, card = fit_baseline(kind, pairs, "T1", "CT")
        methods[f"baseline {short} (paired phantoms)"] = LoadedModel(model.eval(), card)
    return methods


def test_pairs(args: argparse.Namespace) -> dict[str, tuple]:
    t1 = read_volume(args.templates / "avg152T1.nii")
    ct = read_volume(args.templates / "scct.nii")
    pairs = {"avg152T1 / scct": (t1, ct.with_array(cormack_to_hounsfield(ct.array)))}
    grid = phantom_grid(args.shape)
    for index in range(2):
        subject = make_subject(grid, 14, index, ("T1", "CT"))
        pairs[f"phantom {index + 1}"] = (subject.images["T1"], subject.images["CT"])
    return pairs


def score(synthetic, reference) -> dict[str, float]:
    """Raw HU inside the reference's head: MAE, PSNR and SSIM over the CT window, bone Dice."""
    mask = foreground_mask(reference.array) | (reference.array > -500)
    evaluation = evaluate_volumes(synthetic, reference, reference.with_array(mask.astype("uint8")),
                                  data_range=CT_WINDOW[1] - CT_WINDOW[0], convention="raw")
    metrics = evaluation.metrics["mask"]
    return {"mae_hu": metrics["mae"], "psnr": metrics["psnr"], "ssim_3d": metrics["ssim_3d"],
            "bone_dice": bone_dice(synthetic.array, evaluation.reference.array, evaluation.mask)}


def best_baseline(rows: list[dict], method: str) -> tuple[str, dict[str, float], dict[str, float]]:
    """The baseline of highest mean PSNR over the test pairs, its means and ``method``'s."""
    def means(name: str) -> dict[str, float]:
        picked = [r for r in rows if r["method"] == name]
        return {k: sum(r[k] for r in picked) / len(picked) for k in METRICS}

    rivals = {r["method"] for r in rows if r["method"].startswith("baseline ")}
    rival = max(rivals, key=lambda name: means(name)["psnr"])
    return rival, means(rival), means(method)


def bundle_winners(args: argparse.Namespace, argv: list[str], rows: list[dict], reverse_rows: list[dict],
                   forward: LoadedModel, reverse: LoadedModel) -> list[str]:
    """Bundle the generators that beat the best baseline; say what was decided either way."""
    said = []
    scale = (f"{args.epochs} epochs x {args.slices} slices of {args.size} x {args.size} at {args.spacing:g} mm, "
             f"ResNet generator width {args.ngf}")
    data = (f"{args.phantoms} T1 phantom heads and {args.phantoms} CT phantom heads of other anatomy, unpaired "
            "(medsynth phantom); no real CT or skull-on MRI was available")
    reproduce = f"scripts/study_mri_to_ct.py {' '.join(argv)}"
    rival, theirs, mine = best_baseline(rows, "cyclegan")
    if mine["psnr"] > theirs["psnr"] and mine["mae_hu"] < theirs["mae_hu"]:
        metrics = {f"test {r['subject']} (raw HU inside the head)" if r["method"] == "cyclegan" else
                   f"{r['method']}, {r['subject']}": {k: r[k] for k in METRICS}
                   for r in rows if r["method"] in ("cyclegan", rival)}
        bundle(forward, "phantom-cyclegan-T1-CT", (
            f"CycleGAN's T1 -> CT generator, trained without pairs ({scale}); output in HU. Tested on pairs it never "
            "saw: the avg152T1 / scct template pair and two phantom heads, next to the joint histogram fitted on "
            "paired phantom heads (docs/results.md). A demonstration model: phantom anatomy, not real CT."),
            metrics, data, reproduce, default=True, folder=args.catalog)
        said.append(f"bundled phantom-cyclegan-T1-CT: mean PSNR {mine['psnr']:.2f} dB against {theirs['psnr']:.2f}, "
                    f"MAE {mine['mae_hu']:.1f} HU against {theirs['mae_hu']:.1f} ({rival})")
    else:
        said.append(f"not bundled: the T1 -> CT generator's mean PSNR {mine['psnr']:.2f} dB and MAE "
                    f"{mine['mae_hu']:.1f} HU do not beat {rival}'s {theirs['psnr']:.2f} dB and "
                    f"{theirs['mae_hu']:.1f} HU")
    method = "cyclegan (CT -> T1 generator)"
    found = {c: margins(reverse_rows, method, c) for c in ("own-scale", "calibrated")}
    mean_margin = {c: sum(f[1]) / len(f[1]) for c, f in found.items()}
    if all(m > 0 for m in mean_margin.values()):
        metrics = {f"test pairs {c} (margin over {found[c][0]}, dB)": {"margin_db": m} for c, m in mean_margin.items()}
        bundle(reverse, "phantom-cyclegan-CT-T1", (
            f"CycleGAN's CT -> T1 generator (the second generator of phantom-cyclegan-T1-CT's run; {scale}). "
            "A demonstration model: phantom anatomy."), metrics, data, reproduce, folder=args.catalog)
        said.append("bundled phantom-cyclegan-CT-T1")
    else:
        said.append("not bundled: the CT -> T1 generator's mean margins over the best baseline are "
                    + ", ".join(f"{m:+.2f} dB {c}" for c, m in mean_margin.items()))
    return said


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    t1, ct, paired = datasets(args)
    heads = paired_heads(paired)
    forward, reverse = cyclegan(args, t1, ct)
    methods = {**baselines(heads), "cyclegan": forward}
    backward = {**fit_baselines([({"CT": ct_head}, t1_head) for t1_head, ct_head in heads], ["CT"], "T1"),
                "cyclegan (CT -> T1 generator)": reverse}
    options = InferenceOptions(device=args.device, precision="fp32")  # figures in the reference precision
    rows, reverse_rows = [], []
    for name, (mri, reference) in test_pairs(args).items():
        for method, loaded in methods.items():
            synthetic = synthesize(mri, loaded, options)
            rows.append({"subject": name, "method": method, **score(synthetic, reference)})
            if method in ("cyclegan", "baseline jointhist (paired phantoms)"):  # what to look at, side by side
                slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{name} {method.split(' (')[0]}").strip("-").lower()
                difference_mosaic(args.out / f"mosaic-{slug}.png", synthetic, reference, mri,
                                  title=f"{name}: {method} (HU)")
        for method, loaded in backward.items():
            reverse_rows += rows_for(name, method, score_conventions(run_method(loaded, {"CT": reference}, options),
                                                                     mri))
    lines = ["### T1 -> CT: CycleGAN trained unpaired, tested on pairs it never saw (raw HU inside the head)", "",
             "| test pair | method | MAE (HU) | PSNR (dB) | SSIM | bone Dice (HU > 300) |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['subject']} | {r['method']} | {r['mae_hu']:.1f} | {r['psnr']:.2f} | {r['ssim_3d']:.3f} | "
              f"{r['bone_dice']:.3f} |" for r in rows]
    lines += ["", f"Scale: {args.phantoms} T1 and {args.phantoms} CT phantom heads of different anatomy, "
              f"{args.epochs} epochs x {args.slices} slices of {args.size} x {args.size} at {args.spacing:g} mm, "
              f"generator width {args.ngf}; bone threshold {BONE_HU:g} HU.", "",
              f"`scripts/study_mri_to_ct.py {' '.join(argv)}` ({date.today().isoformat()})."]
    reverse_lines = summary(reverse_rows, "CT", "T1", "### CT -> T1: CycleGAN's second generator on the same pairs")
    if args.bundle:
        reverse_lines += ["", *bundle_winners(args, argv, rows, reverse_rows, forward, reverse)]
    lines += ["", *reverse_lines]
    write_report(args.out, rows, lines)
    write_report(args.out / "ct-to-t1", reverse_rows, reverse_lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
