"""Patch-wise inference of 3D models through MONAI's sliding-window inferer."""

from __future__ import annotations

import numpy as np
import torch
from monai.data.utils import dense_patch_slices
from monai.inferers import sliding_window_inference
from monai.inferers.utils import _get_scan_interval
from torch import nn

from ..core.options import BLEND_MODES
from ..device import autocast
from ..mask import bounding_box


def _per_dim(value, n: int = 3) -> tuple[int, ...]:
    return tuple(int(v) for v in (value if isinstance(value, (list, tuple)) else [value] * n))


def overlap_for(patch: tuple[int, ...], stride: tuple[int, ...]) -> tuple[float, ...]:
    """MONAI's overlap fraction giving exactly ``stride`` (it truncates ``patch * (1 - overlap)``)."""
    return tuple(max(0.0, (p - s) / p - 1e-6) if s < p else 0.0 for p, s in zip(patch, stride, strict=True))


def count_windows(shape: tuple[int, ...], patch: tuple[int, ...], stride: tuple[int, ...]) -> int:
    size = tuple(max(s, p) for s, p in zip(shape, patch, strict=True))
    interval = _get_scan_interval(size, patch, 3, overlap_for(patch, stride))
    return len(dense_patch_slices(size, patch, interval))


def run_patchwise(
    model: nn.Module,
    image: np.ndarray,
    background: float,
    mask: np.ndarray | None,
    reporter_factory,
    patch_size=32,
    stride=16,
    blend: str = "gaussian",
    batch_size: int = 8,
    margin: int = 8,
    device: torch.device | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Sliding-window inference of a 3D ``model`` on a normalized ``[k, j, i]`` array (or ``[input, k, j, i]``
    for several co-registered inputs, one channel each).

    With ``mask``, windows holding no foreground voxel are not run through the network (they contribute
    ``background``). The window grid stays anchored to the volume, so skipping changes no foreground
    voxel: every window covering a foreground voxel holds foreground and is computed as without skipping.
    ``patch_size="full"`` (or ``stride="full"``) runs the whole volume in one pass (cropped to the foreground box plus
    ``margin`` when a mask is given, which saves memory).
    """
    device = device or torch.device("cpu")
    if stride == "full":
        patch_size = "full"
    stack = image if image.ndim == 4 else image[None]
    count = len(stack)
    shape = stack.shape[1:]
    box = tuple(slice(0, n) for n in shape)
    if patch_size == "full" and mask is not None:
        box = bounding_box(mask, margin) or box
    crop = stack[(slice(None), *box)]
    patch = crop.shape[1:] if patch_size == "full" else _per_dim(patch_size)
    step = patch if patch_size == "full" else _per_dim(stride)
    channels = [*crop] + ([mask[box].astype(np.float32)] if mask is not None else [])
    inputs = torch.from_numpy(np.ascontiguousarray(np.stack(channels)))[None]
    reporter = reporter_factory(count_windows(crop.shape[1:], patch, step))

    def predictor(window: torch.Tensor) -> torch.Tensor:
        # channels-last 3D runs the convolutions several times faster on CPU; weights are left as they are
        x = window[:, :count].to(device).contiguous(memory_format=torch.channels_last_3d)
        out = torch.full_like(x[:, :1], background)
        keep = (window[:, count].flatten(1).amax(dim=1) > 0 if mask is not None
                else torch.ones(len(x), dtype=torch.bool))
        if keep.any():
            with autocast(device, precision):
                out[keep.to(device)] = model(x[keep.to(device)]).float()
        reporter.step(len(x))
        return out

    with torch.inference_mode():
        result = sliding_window_inference(
            inputs, roi_size=patch, sw_batch_size=batch_size, predictor=predictor,
            overlap=overlap_for(patch, step), mode=BLEND_MODES[blend],
            padding_mode="replicate", sw_device=device, device=torch.device("cpu"),
        )
    out = np.full(shape, background, dtype=np.float32)
    out[box] = result[0, 0].numpy()
    return out
