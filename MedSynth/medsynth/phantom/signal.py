"""MR signal equations, CT numbers, bias fields and Rician noise for the phantom.

Sequence parameters follow the IXI protocol (Philips 1.5 T, as listed in SPEC.md): T1w spoiled gradient
echo TR 9.813 ms, TE 4.603 ms, flip 8 deg; T2w spin echo TR 8178.34 ms, TE 100 ms; PD spin echo TR
8178.34 ms, TE 8 ms. IXI has no FLAIR: ours is a typical 1.5 T inversion recovery (TR 9000 ms,
TE 120 ms) with TI chosen to null CSF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .anatomy import Anatomy
from .tissues import TISSUE_BY_NAME, TISSUES, Tissue

CONTRAST_NAMES = ("T1", "T2", "PD", "FLAIR", "CT")


@dataclass(frozen=True)
class Sequence:
    kind: str  # "spgr", "se", "ir" or "ct"
    tr: float = 0.0  # ms
    te: float = 0.0  # ms
    flip: float = 90.0  # degrees
    ti: float = 0.0  # ms


def _csf_null_ti(tr: float) -> float:
    t1 = TISSUE_BY_NAME["csf"].t1
    return t1 * math.log(2.0 / (1.0 + math.exp(-tr / t1)))


IXI_PROTOCOL: dict[str, Sequence] = {
    "T1": Sequence("spgr", tr=9.813, te=4.603, flip=8.0),
    "T2": Sequence("se", tr=8178.34, te=100.0),
    "PD": Sequence("se", tr=8178.34, te=8.0),
    "FLAIR": Sequence("ir", tr=9000.0, te=120.0, ti=_csf_null_ti(9000.0)),
    "CT": Sequence("ct"),
}


def tissue_signal(tissue: Tissue, seq: Sequence) -> float:
    """Noise-free signal of a pure tissue voxel (MR: arbitrary units with PD(CSF) = 1; CT: HU)."""
    if seq.kind == "ct":
        return tissue.hu
    if tissue.pd == 0.0:
        return 0.0
    e1 = math.exp(-seq.tr / tissue.t1)
    if seq.kind == "spgr":
        a = math.radians(seq.flip)
        return tissue.pd * math.sin(a) * (1 - e1) / (1 - math.cos(a) * e1) * math.exp(-seq.te / tissue.t2s)
    if seq.kind == "se":
        return tissue.pd * (1 - e1) * math.exp(-seq.te / tissue.t2)
    if seq.kind == "ir":  # magnitude reconstruction
        mz = 1 - 2 * math.exp(-seq.ti / tissue.t1) + e1
        return tissue.pd * abs(mz) * math.exp(-seq.te / tissue.t2)
    raise ValueError(f"unknown sequence kind {seq.kind!r}")


def simulate(
    anatomy: Anatomy,
    contrast: str,
    rng: np.random.Generator,
    noise: float = 0.02,
    bias: float = 0.15,
    scale: float = 1000.0,
) -> np.ndarray:
    """Simulated image ``[k, j, i]`` (float32) of ``contrast`` for ``anatomy``.

    MR: partial-volume mixture of tissue signals, times a smooth multiplicative bias field (peak
    deviation about ``bias``), scaled so the brightest tissue is near ``scale``, plus Rician noise of
    standard deviation ``noise * scale``. CT: mixture of HU values plus Gaussian noise of 5 HU.
    """
    seq = IXI_PROTOCOL[contrast]
    values = np.array([tissue_signal(t, seq) for t in TISSUES], dtype=np.float32)
    flat = anatomy.fractions.reshape(len(TISSUES), -1)
    image = (values @ flat).reshape(anatomy.fractions.shape[1:])
    if seq.kind == "ct":
        image += rng.normal(0.0, 5.0, image.shape).astype(np.float32)
        return np.clip(image, -1024.0, 3071.0)
    image *= np.float32(scale / values.max())
    if bias > 0:
        image *= _bias_field(anatomy.grid.array.shape, rng, bias)
    sigma = np.float32(noise * scale)
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag)


def _bias_field(shape: tuple[int, ...], rng: np.random.Generator, strength: float) -> np.ndarray:
    """exp of a random second-order polynomial over the field of view (separable, so cheap)."""
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    log_field = np.zeros(shape, dtype=np.float32)
    for a, t in enumerate(axes):
        c1, c2 = rng.uniform(-1, 1, 2) * strength * np.array([0.6, 0.4])
        profile = (c1 * t + c2 * (t * t - 1.0 / 3.0)).astype(np.float32)
        index = [None, None, None]
        index[a] = slice(None)
        log_field = log_field + profile[tuple(index)]
    return np.exp(log_field)
