#!/usr/bin/env python
"""Fit the bundled non-learned baseline models on phantom subjects and add them to the catalog.

Reproduces every ``phantom-*`` baseline in MedSynth/Resources/Models:

    bin/medsynth --version >/dev/null   # make sure .venv exists
    .venv/bin/python scripts/build_bundled_baselines.py

Training subjects use seed 1000, held-out test subjects seed 2000 (the demo uses another seed). The
test metrics (inside the head mask) are written into each model card.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medsynth.baselines import BASELINES, fit_baseline
from medsynth.checkpoint import LoadedModel, save_model
from medsynth.core.catalog import add_to_catalog, bundled_models_dir
from medsynth.inference import InferenceOptions, synthesize
from medsynth.metrics import compare, summarize
from medsynth.phantom import make_subject, phantom_grid
from tqdm import tqdm

MAPPINGS = [("T1", "T2"), ("T2", "T1"), ("T1", "PD"), ("PD", "T1"), ("T2", "PD"), ("PD", "T2"), ("T1", "CT")]
SHORT = {"identity": "identity", "histogram_matching": "histmatch", "joint_histogram": "jointhist"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=6, help="training subjects (default 6)")
    parser.add_argument("--test", type=int, default=2, help="held-out test subjects (default 2)")
    parser.add_argument("--shape", type=int, nargs=3, default=(128, 128, 75), help="phantom grid")
    parser.add_argument("--out", type=Path, default=bundled_models_dir(), help="catalog folder")
    args = parser.parse_args()
    grid = phantom_grid(args.shape)
    contrasts = ("T1", "T2", "PD", "CT")
    make = lambda seed, i: make_subject(grid, seed, i, contrasts)  # noqa: E731
    train = [make(1000, i) for i in tqdm(range(args.train), desc="training phantoms")]
    test = [make(2000, i) for i in tqdm(range(args.test), desc="test phantoms")]
    summary = {"data": f"{args.train} phantom subjects (medsynth phantom, seed 1000, grid "
                       f"{'x'.join(map(str, args.shape))}, {grid.spacing.round(3).tolist()} mm)"}
    for source, target in tqdm(MAPPINGS, desc="mappings"):
        # mask None: the automatic head mask, exactly as at inference time
        pairs = [(s.images[source], s.images[target], None) for s in train]
        for kind in BASELINES:
            name = f"phantom-{SHORT[kind]}-{source}-{target}"
            model, card = fit_baseline(kind, pairs, source, target, name=name, training_summary=summary)
            loaded = LoadedModel(model.eval(), card)
            rows = []
            for s in test:
                result = synthesize(s.images[source], loaded, InferenceOptions(device="cpu", precision="fp32"))
                rows.append(compare(result, s.images[target], s.masks[source].array > 0, planes=False)["mask"])
            stats = summarize(rows)
            card.metrics = {f"test ({args.test} phantom subjects, seed 2000, head mask)": {
                k: stats[k][0] for k in ("psnr", "ssim_3d", "mae", "nmse")}}
            path = save_model(model, card, args.out / f"{name}.safetensors")
            add_to_catalog(path, default=kind == "joint_histogram", folder=args.out)
            tqdm.write(f"{name}: PSNR {stats['psnr'][0]:.2f} dB, SSIM {stats['ssim_3d'][0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
