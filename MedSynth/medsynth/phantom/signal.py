"""MR signal equations, CT numbers, bias fields and Rician noise for the phantom.

Sequence parameters follow the IXI protocol (Philips 1.5 T, as listed in SPEC.md): T1w spoiled gradient
echo TR 9.813 ms, TE 4.603 ms, flip 8 deg; T2w spin echo TR 8178.34 ms, TE 100 ms; PD spin echo TR
8178.34 ms, TE 8 ms. IXI has no FLAIR: ours is a typical 1.5 T inversion recovery (TR 9000 ms,
TE 120 ms) with TI chosen to null CSF.

At 3 T and 7 T (``field``) the tissues relax as ``tissues.RELAXATION`` says, with typical protocols of those
fields (shorter TE at 7 T, where T2 and T2* are shorter), a higher signal-to-noise ratio, and a transmit
field (B1) that is inhomogeneous at 7 T: the centre of the head is brighter than its rim. ``T1_7T`` and
``T2_7T`` are the T1w and T2w images at 7 T, whatever the field of the other contrasts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .anatomy import Anatomy
from .tissues import FIELDS, TISSUE_BY_NAME, Tissue, tissues_at

CONTRAST_NAMES = ("T1", "T2", "PD", "FLAIR", "CT")  # what a phantom holds by default
ULTRA_HIGH_FIELD = {"T1_7T": "T1", "T2_7T": "T2"}  # contrasts acquired at 7 T, and their kind of sequence
PHANTOM_CONTRASTS = (*CONTRAST_NAMES, *ULTRA_HIGH_FIELD)


@dataclass(frozen=True)
class Sequence:
    kind: str  # "spgr", "se", "ir" or "ct"
    tr: float = 0.0  # ms
    te: float = 0.0  # ms
    flip: float = 90.0  # degrees
    ti: float = 0.0  # ms


def _csf_null_ti(tr: float, field: float = 1.5) -> float:
    t1 = next(t for t in tissues_at(field) if t.name == "csf").t1 if field != 1.5 else TISSUE_BY_NAME["csf"].t1
    return t1 * math.log(2.0 / (1.0 + math.exp(-tr / t1)))


IXI_PROTOCOL: dict[str, Sequence] = {
    "T1": Sequence("spgr", tr=9.813, te=4.603, flip=8.0),
    "T2": Sequence("se", tr=8178.34, te=100.0),
    "PD": Sequence("se", tr=8178.34, te=8.0),
    "FLAIR": Sequence("ir", tr=9000.0, te=120.0, ti=_csf_null_ti(9000.0)),
    "CT": Sequence("ct"),
}
PROTOCOLS: dict[float, dict[str, Sequence]] = {
    1.5: IXI_PROTOCOL,
    3.0: {"T1": Sequence("spgr", tr=8.1, te=3.7, flip=8.0), "T2": Sequence("se", tr=5000.0, te=90.0),
          "PD": Sequence("se", tr=5000.0, te=10.0),
          "FLAIR": Sequence("ir", tr=9000.0, te=120.0, ti=_csf_null_ti(9000.0, 3.0)), "CT": Sequence("ct")},
    7.0: {"T1": Sequence("spgr", tr=8.0, te=2.5, flip=8.0), "T2": Sequence("se", tr=6000.0, te=60.0),
          "PD": Sequence("se", tr=6000.0, te=8.0),
          "FLAIR": Sequence("ir", tr=9000.0, te=100.0, ti=_csf_null_ti(9000.0, 7.0)), "CT": Sequence("ct")},
}
NOISE_FACTOR = {1.5: 1.0, 3.0: 0.7, 7.0: 0.45}  # noise relative to 1.5 T's: the signal-to-noise ratio grows with B0
B1_STRENGTH = {1.5: 0.0, 3.0: 0.15, 7.0: 0.6}  # centre-to-rim brightening of the transmit field
HEAD_RADIUS = 0.75  # of the half field of view: where the B1 brightening has fallen to nothing


def field_of(contrast: str, field: float = 1.5) -> tuple[float, str]:
    """The field an image of ``contrast`` is acquired at, and its kind of sequence (``T1_7T``: 7 T, T1w)."""
    if contrast in ULTRA_HIGH_FIELD:
        return 7.0, ULTRA_HIGH_FIELD[contrast]
    if field not in FIELDS:
        tissues_at(field)  # raises the error naming the fields
    return field, contrast


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
    field: float = 1.5,
    blur: float = 0.0,
) -> np.ndarray:
    """Simulated image ``[k, j, i]`` (float32) of ``contrast`` for ``anatomy`` at ``field`` tesla.

    MR: partial-volume mixture of tissue signals (blurred by a Gaussian of ``blur`` voxels' SD: a coarser
    acquisition than the grid), times a smooth multiplicative bias field (peak deviation about ``bias``)
    and the field's B1 profile, scaled so the brightest tissue is near ``scale``, plus Rician noise of
    standard deviation ``noise * scale`` (less at higher fields). CT: mixture of HU values plus Gaussian
    noise of 5 HU.
    """
    field, kind = field_of(contrast, field)
    seq = PROTOCOLS[field][kind]
    tissues = tissues_at(field)
    values = np.array([tissue_signal(t, seq) for t in tissues], dtype=np.float32)
    flat = anatomy.fractions.reshape(len(tissues), -1)
    image = (values @ flat).reshape(anatomy.fractions.shape[1:])
    if seq.kind == "ct":
        image += rng.normal(0.0, 5.0, image.shape).astype(np.float32)
        return np.clip(image, -1024.0, 3071.0)
    if blur > 0:
        from scipy.ndimage import gaussian_filter

        image = gaussian_filter(image, blur).astype(np.float32)
    image *= np.float32(scale / values.max())
    if bias > 0:
        image *= _bias_field(anatomy.grid.array.shape, rng, bias)
    if B1_STRENGTH[field] > 0:
        image *= _b1_profile(anatomy.grid.array.shape, B1_STRENGTH[field])
    sigma = np.float32(noise * scale * NOISE_FACTOR[field])
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag)


def _b1_profile(shape: tuple[int, ...], strength: float) -> np.ndarray:
    """1 + strength at the centre of the head, falling quadratically to 1 at its rim (as a 7 T head coil's
    transmit field does: the centre is brighter), and no lower than 1 - strength / 2 outside."""
    axes = np.meshgrid(*(np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape), indexing="ij", sparse=True)
    radius2 = sum(a * a for a in axes) / HEAD_RADIUS**2
    return np.maximum(1.0 + strength * (1.0 - radius2), 1.0 - strength / 2).astype(np.float32)


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
