"""Slice-by-slice inference of 2D (and 2.5D) models, streaming batches of slices."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.progress import Reporter
from ..device import autocast
from ..mask import bounding_box

MIN_SLICE = 32  # in-plane size the networks see at least: their padding and down-sampling need room


def _fit_divisor(box: slice, size: int, divisor: int) -> tuple[slice, tuple[int, int]]:
    """Grow ``box`` to a multiple of ``divisor`` (and at least ``MIN_SLICE``) using real neighbouring data; pad
    only past the image (a thin slab or a tiny volume is padded by repeating its edge, then cropped back)."""
    want = math.ceil(max(box.stop - box.start, MIN_SLICE) / divisor) * divisor
    extra = want - (box.stop - box.start)
    start = max(box.start - extra // 2, 0)
    stop = min(start + want, size)
    start = max(stop - want, 0)
    missing = want - (stop - start)
    return slice(start, stop), (missing // 2, missing - missing // 2)


def run_slicewise(
    model: nn.Module,
    image: np.ndarray,
    axis: int,
    background: float,
    mask: np.ndarray | None,
    reporter_factory,
    batch_size: int = 8,
    context: int = 0,
    margin: int = 8,
    device: torch.device | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Run a 2D ``model`` on every slice along ``axis`` of a normalized ``[k, j, i]`` array, or of several
    co-registered inputs ``[input, k, j, i]`` (many-to-one models).

    With ``mask``, slices without foreground are skipped (left at ``background``) and each slice is cut to
    the foreground bounding box (union over slices) grown by ``margin``. ``context`` neighbouring slices
    on each side become extra input channels (2.5D); beyond the volume the edge slice is repeated. The
    channels are input by input, each with its neighbours in order (as ``training.data`` builds them).
    Only one batch of slices is on the device at a time.
    """
    device = device or torch.device("cpu")
    stack = image if image.ndim == 4 else image[None]
    data = np.moveaxis(stack, axis + 1, 1)  # [input, slice, row, column]
    out = np.full(data.shape[1:], background, dtype=np.float32)
    if mask is not None:
        m = np.moveaxis(mask, axis, 0)
        todo = np.flatnonzero(m.reshape(m.shape[0], -1).any(axis=1))
        box = bounding_box(m.any(axis=0), margin) or (slice(0, out.shape[1]), slice(0, out.shape[2]))
    else:
        todo = np.arange(out.shape[0])
        box = (slice(0, out.shape[1]), slice(0, out.shape[2]))
    divisor = int(getattr(model, "size_divisor", 1))
    rows, pad_rows = _fit_divisor(box[0], out.shape[1], divisor)
    cols, pad_cols = _fit_divisor(box[1], out.shape[2], divisor)
    reporter: Reporter = reporter_factory(len(todo))
    last = out.shape[0] - 1
    offsets = np.arange(-context, context + 1)
    with torch.inference_mode():
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            neighbours = np.clip(batch[:, None] + offsets[None, :], 0, last)  # (B, C)
            window = data[:, neighbours][..., rows, cols]  # (inputs, B, C, h, w)
            window = np.moveaxis(window, 1, 0).reshape(len(batch), -1, *window.shape[-2:])  # input-major channels
            x = torch.from_numpy(np.ascontiguousarray(window)).to(device)
            if any(pad_rows) or any(pad_cols):
                x = F.pad(x, (*pad_cols, *pad_rows), mode="replicate")
            with autocast(device, precision):
                # channels-last input: oneDNN and tensor cores run convolutions faster. The model's own
                # weights are left as they are (a training run shares them with DDP, which needs one layout).
                y = model(x.contiguous(memory_format=torch.channels_last))
            y = y[:, 0, pad_rows[0] : y.shape[2] - pad_rows[1], pad_cols[0] : y.shape[3] - pad_cols[1]]
            for index, result in zip(batch, y.float().cpu().numpy(), strict=True):
                out[index, rows, cols] = result
            reporter.step(len(batch))
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))
