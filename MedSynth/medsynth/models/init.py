"""Weight initialization of pix2pix/pGAN (seed 000): conv weights N(0, 0.02), norm scales N(1, 0.02)."""

from __future__ import annotations

from torch import nn

_CONVS = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)
_NORMS = (nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def normal_init(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialize every conv/linear/norm layer of ``module`` in place; returns it."""
    for m in module.modules():
        if isinstance(m, _CONVS):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def norm_layer_2d(norm: str, channels: int) -> nn.Module:
    """``instance`` (pGAN; no affine, as pix2pix), ``batch`` or ``none``."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be instance, batch or none, got {norm!r}")
