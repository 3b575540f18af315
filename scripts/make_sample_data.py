#!/usr/bin/env python
"""Write the MedSynth sample data registered with Slicer's SampleData module: one phantom subject's T1w,
T2w and PD (co-registered, IXI's 0.94 x 0.94 x 1.2 mm grid, cropped to the head and a 32-slice axial slab
through the ventricles to keep the extension small), a thumbnail, and ``samples.json`` with SHA256 sums.

    .venv/bin/python scripts/make_sample_data.py
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nibabel as nib
import numpy as np
from medsynth.phantom import write_phantom_dataset

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "MedSynth/Resources/SampleData"
NAME, CONTRASTS, SLICES, SEED = "MedSynthPhantom", ("T1", "T2", "PD"), 32, 9000


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        write_phantom_dataset(Path(tmp), 1, seed=SEED, contrasts=CONTRASTS)  # IXI's 256 x 256 x 150 grid
        mask = np.asanyarray(nib.load(next(Path(tmp).glob("*-mask.nii.gz"))).dataobj) > 0
        head = np.argwhere(mask)
        lo, hi = head.min(0) - 4, head.max(0) + 5
        middle = (lo[2] + hi[2]) // 2
        crop = (slice(max(lo[0], 0), hi[0]), slice(max(lo[1], 0), hi[1]),
                slice(middle - SLICES // 2, middle + SLICES // 2))
        files, planes = [], []
        for contrast in CONTRASTS:
            image = nib.load(next(Path(tmp).glob(f"*-{contrast}.nii.gz"))).slicer[crop]  # affine follows the crop
            path = OUT / f"{NAME}-{contrast}.nii.gz"
            nib.save(image, path)
            files.append({"contrast": contrast, "file": path.name, "node": path.name.removesuffix(".nii.gz"),
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
            plane = np.asanyarray(image.dataobj)[:, :, SLICES // 2].T[::-1].astype(float)
            planes.append(plane / np.percentile(plane, 99.5))
    fig = plt.figure(figsize=(3.0, 1.2), dpi=100)
    for index, plane in enumerate(planes):
        ax = fig.add_axes((index / 3, 0, 1 / 3, 1))
        ax.imshow(np.clip(plane, 0, 1), cmap="gray", interpolation="bilinear")
        ax.axis("off")
    fig.savefig(OUT / f"{NAME}.png", dpi=100, facecolor="black")
    plt.close(fig)
    entry = {"name": NAME, "description": "MedSynth phantom (T1w, T2w, PD)", "thumbnail": f"{NAME}.png",
             "source": f"medsynth phantom, seed {SEED}, IXI 1.5 T sequence parameters", "files": files}
    (OUT / "samples.json").write_text(json.dumps({"format": 1, "samples": [entry]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
