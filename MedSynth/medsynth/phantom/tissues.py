"""Tissue classes of the phantom and their physical properties.

MR properties at 1.5 T follow the BrainWeb simulator's tissue table (Kwan, Evans and Pike, IEEE TMI
18(11):1085-97, 1999; Collins et al., IEEE TMI 17(3):463-8, 1998): relaxation times in ms and proton
density relative to CSF. Skin is modelled with muscle relaxation times. Cortical bone has almost no MR
signal (very short T2). CT numbers in Hounsfield units are typical adult head values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tissue:
    label: int
    name: str
    pd: float  # proton density, relative to CSF
    t1: float  # ms at 1.5 T
    t2: float  # ms
    t2s: float  # T2* in ms
    hu: float  # CT number


TISSUES: tuple[Tissue, ...] = (
    Tissue(0, "air", 0.00, 1.0, 1.0, 1.0, -1000.0),
    Tissue(1, "skin", 1.00, 900.0, 47.0, 30.0, 45.0),
    Tissue(2, "fat", 1.00, 350.0, 70.0, 58.0, -95.0),
    Tissue(3, "bone", 0.05, 250.0, 1.0, 1.0, 1400.0),
    Tissue(4, "marrow", 0.80, 365.0, 60.0, 45.0, 450.0),
    Tissue(5, "muscle", 1.00, 900.0, 47.0, 30.0, 50.0),
    Tissue(6, "csf", 1.00, 2569.0, 329.0, 58.0, 8.0),
    Tissue(7, "gray_matter", 0.86, 833.0, 83.0, 69.0, 38.0),
    Tissue(8, "white_matter", 0.77, 500.0, 70.0, 61.0, 28.0),
    Tissue(9, "deep_gray_matter", 0.82, 750.0, 76.0, 62.0, 36.0),
    Tissue(10, "lesion", 0.76, 752.0, 237.0, 204.0, 22.0),
)
TISSUE_BY_NAME = {t.name: t for t in TISSUES}
