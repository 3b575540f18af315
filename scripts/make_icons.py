#!/usr/bin/env python
"""Render the module and extension icons (128x128 PNG) from a phantom: left half T1w, right half T2w.

    .venv/bin/python scripts/make_icons.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from medsynth.phantom import make_subject, phantom_grid

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    subject = make_subject(phantom_grid((160, 160, 96)), seed=5, contrasts=("T1", "T2"), lesion_probability=1.0)
    slices = {}
    for contrast in ("T1", "T2"):
        ras, _ = subject.images[contrast].to_closest_ras()
        plane = ras[:, :, ras.shape[2] // 2 + 12].T[::-1]
        slices[contrast] = np.clip(plane / np.percentile(plane, 99.5), 0, 1)
    half = slices["T1"].shape[1] // 2
    icon = np.concatenate([slices["T1"][:, :half], slices["T2"][:, half:]], axis=1)
    for path in (ROOT / "MedSynth/Resources/Icons/MedSynth.png", ROOT / "Resources/MedSynth.png"):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = plt.figure(figsize=(1.28, 1.28), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(icon, cmap="gray", interpolation="bilinear")
        ax.axvline(half - 0.5, color="#f5a623", linewidth=1.5)
        ax.axis("off")
        fig.savefig(path, dpi=100, transparent=False, facecolor="black")
        plt.close(fig)


if __name__ == "__main__":
    main()
