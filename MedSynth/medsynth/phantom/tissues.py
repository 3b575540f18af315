"""Tissue classes of the phantom and their physical properties.

MR properties at 1.5 T follow the BrainWeb simulator's tissue table (Kwan, Evans and Pike, IEEE TMI
18(11):1085-97, 1999; Collins et al., IEEE TMI 17(3):463-8, 1998): relaxation times in ms and proton
density relative to CSF. Skin is modelled with muscle relaxation times. Cortical bone has almost no MR
signal (very short T2). CT numbers in Hounsfield units are typical adult head values.

At 3 T and 7 T (``RELAXATION``) T1 lengthens, T2 shortens a little and T2* a lot. Brain tissue values are
from the literature: at 3 T, T1 and T2 of grey and white matter and muscle from Stanisz et al. (MRM
54:507-512, 2005), T2* from Peters et al. (MRI 25:748-753, 2007); at 7 T, T1 from Rooney et al. (MRM
57:308-318, 2007), T2* from Peters et al. 2007, T2 of grey and white matter about 55 and 46 ms. CSF, fat,
marrow and lesion values are rounded from reported ranges, which vary with the method: this is a demo
phantom for 3 T -> 7 T synthesis, not a quantitative reference.
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
FIELDS = (1.5, 3.0, 7.0)  # tesla

# (T1, T2, T2*) in ms by tissue name at 3 T and 7 T; 1.5 T is TISSUES' own (BrainWeb)
RELAXATION: dict[float, dict[str, tuple[float, float, float]]] = {
    3.0: {"skin": (1412.0, 50.0, 25.0), "fat": (380.0, 133.0, 40.0), "bone": (300.0, 1.0, 1.0),
          "marrow": (550.0, 50.0, 30.0), "muscle": (1412.0, 50.0, 25.0), "csf": (4300.0, 1400.0, 120.0),
          "gray_matter": (1820.0, 99.0, 66.0), "white_matter": (1084.0, 69.0, 53.2),
          "deep_gray_matter": (1400.0, 75.0, 41.0), "lesion": (1650.0, 200.0, 150.0)},
    7.0: {"skin": (1900.0, 30.0, 15.0), "fat": (580.0, 100.0, 20.0), "bone": (300.0, 1.0, 1.0),
          "marrow": (650.0, 40.0, 15.0), "muscle": (1900.0, 30.0, 15.0), "csf": (4425.0, 1000.0, 100.0),
          "gray_matter": (2132.0, 55.0, 33.2), "white_matter": (1220.0, 46.0, 26.8),
          "deep_gray_matter": (1690.0, 50.0, 18.0), "lesion": (2000.0, 150.0, 80.0)},
}


def tissues_at(field: float) -> tuple[Tissue, ...]:
    """The tissue table at ``field`` tesla (one of ``FIELDS``)."""
    if field not in FIELDS:
        from ..core.errors import ConfigError

        raise ConfigError(f"field strength must be one of {', '.join(f'{f:g}' for f in FIELDS)} T, got {field:g}")
    if field == 1.5:
        return TISSUES
    table = RELAXATION[field]
    return tuple(t if t.name not in table else Tissue(t.label, t.name, t.pd, *table[t.name], t.hu) for t in TISSUES)
