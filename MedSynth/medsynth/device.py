"""Choosing the compute device and numeric precision."""

from __future__ import annotations

import contextlib
import logging

import torch

from .core.errors import ConfigError
from .core.options import DEVICES, PRECISION_CHOICES

log = logging.getLogger(__name__)

# the precisions "auto" resolves to, by the names a user gives (declared with the other settings, torch-free)
PRECISIONS = dict(zip(PRECISION_CHOICES[1:], (torch.float32, torch.bfloat16, torch.float16), strict=True))


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit choice falls back to CPU with a warning."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ConfigError(f"unknown device '{name}'; expected one of {', '.join(DEVICES)} (or cuda:N)")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        log.warning("device '%s' requested but CUDA is not available; using the CPU", name)
        return torch.device("cpu")
    if name == "mps" and not _mps_available():
        log.warning("device 'mps' requested but Apple MPS is not available; using the CPU")
        return torch.device("cpu")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (a bf16 GPU; a CPU with AVX-512 BF16 or AMX), so mixed
    precision is faster there rather than emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
        return any(check() for check in checks if check is not None)
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """Validate ``name``; half precisions the device cannot run fall back to fp32 with a warning. ``auto``:
    bf16 where the device computes it natively, else fp32."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision '{name}'; expected auto or one of {', '.join(PRECISIONS)}")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        log.warning("this GPU has no bf16 support; using fp32")
        return "fp32"
    if name == "fp16" and device.type == "cpu":
        log.warning("fp16 autocast is slow or unsupported on CPUs; use bf16 there. Using fp32")
        return "fp32"
    return name


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed-precision context for inference (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])
