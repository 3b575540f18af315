"""Canonical names of the contrasts and modalities MedSynth knows, and their aliases."""

import re

from .errors import ConfigError
from .io import volume_stem

#: Canonical name -> accepted spellings (compared case-insensitively).
CONTRASTS: dict[str, tuple[str, ...]] = {
    "T1": ("t1", "t1w", "t1n", "t1-weighted"),
    "T1c": ("t1c", "t1ce", "t1gd", "t1-contrast"),
    "T2": ("t2", "t2w", "t2-weighted"),
    "PD": ("pd", "pdw", "pd-weighted"),
    "FLAIR": ("flair", "t2f", "fla", "t2-flair"),
    "CT": ("ct",),
    "T1_7T": ("t1_7t", "t1w_7t"),
    "T2_7T": ("t2_7t", "t2w_7t"),
}
_ALIASES = {alias: name for name, aliases in CONTRASTS.items() for alias in aliases}


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
