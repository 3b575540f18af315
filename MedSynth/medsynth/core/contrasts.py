"""The contrasts and modalities MedSynth knows: their names and aliases, and the facts the code needs about
each (CT's Hounsfield units, its window, its bone threshold), so no other module tests a name. Standard
library only: the Slicer side reads it when Slicer starts."""

import re
from dataclasses import dataclass

from .errors import ConfigError
from .files import volume_stem


@dataclass(frozen=True)
class Contrast:
    """A contrast or modality and what depends on it."""

    name: str
    aliases: tuple[str, ...]  # accepted spellings, compared case-insensitively
    mri: bool = True  # an MR image: brain extraction (made for MRI) can strip it
    hounsfield_window: tuple[float, float] | None = None  # intensities in HU, normalized over this fixed window
    bone_hu: float | None = None  # bone lies above this (synthetic CT is judged by the Dice of its bone)
    display_window_level: tuple[float, float] | None = None  # Slicer shows it so (else: the head's own range)

    @property
    def hounsfield(self) -> bool:
        """Whether its intensities are Hounsfield units (checked as such when training)."""
        return self.hounsfield_window is not None


CONTRAST_RECORDS = (
    Contrast("T1", ("t1", "t1w", "t1n", "t1-weighted")),
    Contrast("T1c", ("t1c", "t1ce", "t1gd", "t1-contrast")),
    Contrast("T2", ("t2", "t2w", "t2-weighted")),
    Contrast("PD", ("pd", "pdw", "pd-weighted")),
    Contrast("FLAIR", ("flair", "t2f", "fla", "t2-flair")),
    # the scanner's stored range; bone at 300 HU as synthetic-CT studies threshold it; Slicer's "CT-bone" preset
    Contrast("CT", ("ct",), mri=False, hounsfield_window=(-1024.0, 3071.0), bone_hu=300.0,
             display_window_level=(1000.0, 400.0)),
    Contrast("T1_7T", ("t1_7t", "t1w_7t")),
    Contrast("T2_7T", ("t2_7t", "t2w_7t")),
)
#: Canonical name -> its record.
CONTRASTS: dict[str, Contrast] = {c.name: c for c in CONTRAST_RECORDS}
_ALIASES = {alias: c.name for c in CONTRAST_RECORDS for alias in c.aliases}


def contrast(name: str) -> Contrast:
    """The record of a contrast, by any of its spellings."""
    return CONTRASTS[canonical_contrast(name)]


def canonical_contrast(name: str) -> str:
    """Return the canonical spelling of a contrast name (``"t2w"`` -> ``"T2"``)."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigError(f"unknown contrast '{name}'; known contrasts: {', '.join(CONTRASTS)}")


def contrast_from_filename(filename: str) -> str | None:
    """Guess the contrast from an IXI/BraTS-style file name (``IXI002-T1.nii.gz``, ``x_t2w.nii.gz``).

    Only the last ``-``/``_``-separated token before the extension is considered (the last two for names
    such as ``T1_7T``), so an unrelated name gives ``None`` rather than a wrong guess.
    """
    found = split_contrast(volume_stem(filename.split("/")[-1]))
    return found[1] if found else None


def split_contrast(stem: str) -> tuple[str, str] | None:
    """``"IXI002-Guys-T1"`` -> ``("IXI002-Guys", "T1")``; ``"sub1-T1_7T"`` -> ``("sub1", "T1_7T")``; else None."""
    tokens = re.split(r"[-_.]", stem)
    for count in (2, 1):  # a two-token name (T1_7T) before its last token alone (7T)
        if len(tokens) <= count:
            continue
        key = "_".join(tokens[-count:]).lower()
        if key in _ALIASES:
            cut = len(stem) - sum(len(t) for t in tokens[-count:]) - count  # the separators before them
            return stem[:cut], _ALIASES[key]
    return None
