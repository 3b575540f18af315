"""Physics-based multi-contrast digital brain phantom: the embedded default data of MedSynth."""

from .anatomy import Anatomy, make_anatomy
from .generate import PhantomSubject, make_subject, phantom_grid, write_phantom_dataset
from .signal import CONTRAST_NAMES, IXI_PROTOCOL, PHANTOM_CONTRASTS, simulate
from .tissues import FIELDS

__all__ = [
    "CONTRAST_NAMES",
    "FIELDS",
    "IXI_PROTOCOL",
    "PHANTOM_CONTRASTS",
    "Anatomy",
    "PhantomSubject",
    "make_anatomy",
    "make_subject",
    "phantom_grid",
    "simulate",
    "write_phantom_dataset",
]
