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

    Only the last ``-``/``_``-separated token before the extension is considered, so an unrelated
    name gives ``None`` rather than a wrong guess.
    """
    stem = volume_stem(filename.split("/")[-1])
    token = re.split(r"[-_.]", stem)[-1].lower()
    return _ALIASES.get(token)
