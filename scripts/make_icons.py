#!/usr/bin/env python
"""Render the module and extension icons (128x128 PNG) from a phantom: MedSynth's is half T1w, half T2w;
MedSynthTrain's is the T2w slice under a falling loss curve.

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
    fig = plt.figure(figsize=(1.28, 1.28), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(slices["T2"] * 0.6, cmap="gray", interpolation="bilinear", vmin=0, vmax=1)
    epochs = np.linspace(0, 1, 40)
    loss = 0.15 + 0.7 * np.exp(-4 * epochs) + 0.03 * np.sin(23 * epochs)
    height, width = slices["T2"].shape
    ax.plot(epochs * (width - 16) + 8, height - 8 - loss * (height - 16), color="#f5a623", linewidth=2.5)
    ax.axis("off")
    path = ROOT / "MedSynthTrain/Resources/Icons/MedSynthTrain.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, transparent=False, facecolor="black")
    plt.close(fig)


if __name__ == "__main__":
    main()
