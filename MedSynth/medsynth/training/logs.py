"""What a run leaves to look at: ``history.csv``, TensorBoard events (when installed), PNG plots of the
losses and validation metrics, and mosaics of a validation slice (source / synthetic / real / difference)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np

# A bare Figure (no pyplot): renders to files headless and never touches the global matplotlib backend.
from matplotlib.figure import Figure

from ..core.files import atomic_output

log = logging.getLogger(__name__)


class RunLog:
    """Per-epoch rows kept in memory (and in the training state) and rewritten to disk each epoch."""

    def __init__(self, folder: Path, history: list[dict[str, Any]] | None = None, tensorboard: bool = True) -> None:
        self.folder = folder
        self.history: list[dict[str, Any]] = list(history or [])
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(folder / "tensorboard"))
            except ImportError:  # tensorboard is optional
                log.debug("tensorboard not installed: no event files")

    def add(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        if self.writer is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)) and np.isfinite(value):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, row["epoch"])
            self.writer.flush()
        self.write_csv()
        self.plot()

    def write_csv(self) -> None:
        keys = list(dict.fromkeys(k for row in self.history for k in row))
        with atomic_output(self.folder / "history.csv") as tmp, tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)

    def plot(self) -> None:
        epochs = [row["epoch"] for row in self.history]
        losses = [k for k in self.history[-1] if k.startswith("loss_")]
        metrics = [k for k in ("val_psnr", "val_ssim", "val_mae") if any(k in row for row in self.history)]
        fig = Figure(figsize=(4.5 * (1 + len(metrics)), 3.6))
        axes = fig.subplots(1, 1 + len(metrics), squeeze=False)
        for key in losses:
            axes[0, 0].plot(epochs, [row.get(key, np.nan) for row in self.history], label=key[5:])
        axes[0, 0].set(title="training losses", xlabel="epoch", yscale="log")
        axes[0, 0].legend(fontsize=7)
        for ax, key in zip(axes[0, 1:], metrics, strict=True):
            points = [(row["epoch"], row[key]) for row in self.history if key in row]
            ax.plot(*zip(*points, strict=True), marker="o", ms=3)
            ax.set(title=f"validation {key[4:].upper()} (head mask)", xlabel="epoch")
        fig.tight_layout()
        with atomic_output(self.folder / "curves.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def sample_mosaic(path: Path, source: np.ndarray, synthetic: np.ndarray, real: np.ndarray, title: str) -> None:
    """Four panels of one slice in normalized intensities; the difference on a diverging scale."""
    diff = synthetic - real
    limit = float(np.percentile(np.abs(diff), 99.5)) or 1.0
    lo, hi = float(real.min()), float(real.max())
    fig = Figure(figsize=(12, 3.4))
    axes = fig.subplots(1, 4)
    panels = [("source", source, "gray", None, None), ("synthetic", synthetic, "gray", lo, hi),
              ("real", real, "gray", lo, hi), ("synthetic - real", diff, "RdBu_r", -limit, limit)]
    for ax, (name, image, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        shown = ax.imshow(np.rot90(image), cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.colorbar(shown, ax=axes[-1], fraction=0.046)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
