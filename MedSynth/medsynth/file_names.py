"""Volume file names: the formats MedSynth reads and writes, and a name without its extension. Standard library
only, so the torch-free core (contrasts guessed from file names) does not load the imaging libraries."""

from __future__ import annotations

import os

#: File endings SimpleITK reads and writes for us, longest first so ``.nii.gz`` wins over ``.gz``.
VOLUME_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def volume_extension(path: str | os.PathLike) -> str | None:
    """The supported extension ``path`` ends with, or ``None``."""
    name = str(path).lower()
    return next((ext for ext in VOLUME_EXTENSIONS if name.endswith(ext)), None)


def volume_stem(path: str | os.PathLike) -> str:
    """``path`` without its volume extension (``a/b-T1.nii.gz`` -> ``a/b-T1``); unchanged if it has none."""
    ext = volume_extension(path) or ""
    return str(path)[: len(str(path)) - len(ext)]
