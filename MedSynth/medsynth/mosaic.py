"""Image mosaics people look at: source / synthetic / reference / difference in three planes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# A bare Figure (no pyplot): renders to files headless and never touches the global matplotlib backend,
# which Slicer and a user's console session own.
from matplotlib.figure import Figure

from .core.files import atomic_output
from .volume import Volume

DIFFERENCE_CMAP = "berlin"  # diverging, black at zero: blue = too dark, red = too bright
_PLANES = (("axial", 2), ("sagittal", 0), ("coronal", 1))


def _slice(array_ras: np.ndarray, spacing: np.ndarray, normal: int, index: int):
    """A 2D slice oriented for display (rows up = A or S) and its pixel aspect ratio."""
    sl = np.take(array_ras, index, axis=normal)
    axes = [a for a in range(3) if a != normal]
    return sl.T, spacing[axes[1]] / spacing[axes[0]]


def difference_mosaic(
    path: str | Path,
    synthetic: Volume,
    reference: Volume | None = None,
    source: Volume | None = None,
    mask: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Write a PNG: rows source, synthetic, reference and synthetic - reference; columns axial,
    sagittal, coronal through the centre of the foreground. Radiological convention (patient's right
    on the left in axial and coronal views), as Slicer shows them; the difference uses a diverging map
    centred on zero, symmetric at the 99th percentile of |difference| in the foreground."""
    rows = [("source", source), ("synthetic", synthetic), ("reference", reference)]
    rows = [(label, v) for label, v in rows if v is not None]
    grids = {label: v.to_closest_ras() for label, v in rows}
    mask_ras = synthetic.with_array(mask.astype(np.float32)).to_closest_ras()[0] > 0.5 if mask is not None else None
    shape = grids["synthetic"][0].shape
    if mask_ras is not None and mask_ras.any():
        centre = [int(np.mean(np.flatnonzero(mask_ras.any(axis=tuple(a for a in range(3) if a != n)))))
                  for n in range(3)]
    else:
        centre = [n // 2 for n in shape]
    diff = None
    if reference is not None:
        diff = grids["synthetic"][0].astype(np.float32) - grids["reference"][0].astype(np.float32)
    n_rows = len(rows) + (diff is not None)
    fig = Figure(figsize=(9.6, 3.1 * n_rows), facecolor="black")
    axes = fig.subplots(n_rows, 3, squeeze=False)
    for r, (label, _) in enumerate(rows):
        data, spacing = grids[label]
        region = data[mask_ras] if mask_ras is not None and mask_ras.any() else data
        vmin, vmax = np.percentile(region, [0.5, 99.5])
        for c, (plane, normal) in enumerate(_PLANES):
            img, aspect = _slice(data, spacing, normal, centre[normal])
            _show(axes[r, c], img, aspect, "gray", vmin, vmax, f"{label} - {plane}")
    if diff is not None:
        spacing = grids["synthetic"][1]
        region = diff[mask_ras] if mask_ras is not None and mask_ras.any() else diff
        limit = float(np.percentile(np.abs(region), 99)) or 1.0
        for c, (plane, normal) in enumerate(_PLANES):
            img, aspect = _slice(diff, spacing, normal, centre[normal])
            im = _show(axes[-1, c], img, aspect, DIFFERENCE_CMAP, -limit, limit, f"synthetic - reference - {plane}")
        cbar = fig.colorbar(im, ax=axes[-1, :].tolist(), shrink=0.8, pad=0.02)
        cbar.ax.tick_params(colors="white")
    if title:
        fig.suptitle(title, color="white")
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, facecolor="black", format="png")
    return path


def _show(ax, img, aspect, cmap, vmin, vmax, title):
    im = ax.imshow(img[:, ::-1], origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, aspect=aspect,
                   interpolation="nearest")
    ax.set_title(title, color="white", fontsize=9)
    ax.axis("off")
    return im
