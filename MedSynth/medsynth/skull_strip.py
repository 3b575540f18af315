"""Brain extraction for raw skull-on scans, with deepbet (Fisch et al. 2024), which ships its weights in its
wheel and runs on a CPU in seconds.

The bundled real-data models were trained on skull-stripped brains: a head with skull and scalp is far
outside what they learned. deepbet was trained on T1-weighted heads; its mask is the intracranial volume
(brain and CSF). On phantom heads MedSynth measured brain Dice 0.99 for T1 and PD, 0.92 for T2 and 0.94 for
FLAIR (docs/results.md): other MR contrasts are stripped with a warning saying so, or better, with the mask
of the subject's own T1 (``reference``) resampled onto them. CT is refused: the network has never seen one.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .core.contrasts import CONTRASTS
from .core.errors import InputError
from .resample import resample_to
from .volume import Volume

log = logging.getLogger(__name__)
REQUIREMENT = "deepbet==1.0.2"  # its paper: medsynth.core.citations.DEEPBET2024
TRAINED_ON = ("T1", "T1c")  # what the extractor was made for
# phantom heads, brain Dice of the extractor's mask (docs/results.md, scripts/study_skull_strip.py)
MEASURED_DICE = {"PD": 0.99, "T2": 0.92, "FLAIR": 0.94}


@dataclass
class BrainMask:
    """A brain mask on an input's grid, and what the user should know about how it was found."""

    mask: np.ndarray  # bool [k, j, i]
    warnings: list[str] = field(default_factory=list)


def brain_mask(volume: Volume, contrast: str | None, reference: Volume | None = None,
               device: str = "cpu") -> BrainMask:
    """The brain (intracranial) mask of ``volume``, a ``contrast`` image (``None``: not known). With
    ``reference`` (the subject's T1, in the same world space), its mask resampled onto ``volume``'s grid."""
    if contrast in CONTRASTS and not CONTRASTS[contrast].mri:
        raise InputError(f"skull stripping a {contrast} is not supported: the extractor (deepbet) was trained on MRI; "
                         f"give a {contrast} that is already brain-extracted, or strip the subject's MRI instead")
    if reference is not None:
        found = _extract(reference, device)
        moved = resample_to(reference.with_array(found.astype(np.float32)), volume, "nearest").array > 0.5
        if not moved.any():
            raise InputError("the T1 given for skull stripping does not overlap the input: are they the same "
                             "subject, in the same world space (registered)?")
        return BrainMask(moved)
    warnings = []
    if contrast not in TRAINED_ON:
        seen = f" (brain Dice {MEASURED_DICE[contrast]:.2f} on phantom heads)" if contrast in MEASURED_DICE else ""
        warnings.append(f"skull stripping: the extractor (deepbet) was trained on T1 images, the input is "
                        f"{contrast or 'of an unknown contrast'}{seen}; check the brain mask, or give the subject's "
                        "T1 to strip with its mask (--skull-strip-t1)")
    return BrainMask(_extract(volume, device), warnings)


def strip(volume: Volume, mask: np.ndarray) -> Volume:
    """``volume`` with everything outside ``mask`` set to its lowest value (the background of an MR image)."""
    array = np.array(volume.array, dtype=np.float32)
    array[~mask] = float(array.min())
    return volume.with_array(array)


def strip_all(volumes: list[Volume], brain: np.ndarray) -> list[Volume]:
    """Each of a subject's ``volumes`` stripped with the first one's ``brain`` mask (resampled onto the others'
    grids where they differ)."""
    first = volumes[0]
    carrier = first.with_array(brain.astype(np.float32))
    return [strip(v, brain if v.same_grid(first) else resample_to(carrier, v, "nearest").array > 0.5)
            for v in volumes]


def _extract(volume: Volume, device: str) -> np.ndarray:
    import nibabel as nib

    image = nib.Nifti1Image(np.ascontiguousarray(np.transpose(volume.array, (2, 1, 0)), dtype=np.float32),
                            volume.ijk_to_ras)
    try:
        _, mask, _ = _extractor(device == "cpu").run(image)
    except AssertionError:  # deepbet's own check: no foreground for its bounding box
        raise InputError("skull stripping found no head in the input; expected an MR image of a head") from None
    found = np.transpose(np.asarray(mask.dataobj) > 0, (2, 1, 0))
    if not found.any():
        raise InputError("skull stripping found no brain in the input; expected an MR image of a head")
    return found


@lru_cache(maxsize=2)
def _extractor(cpu: bool):
    try:
        from deepbet.bet import BrainExtraction
    except ImportError:
        raise InputError(f"skull stripping needs the deepbet package: pip install {REQUIREMENT} (in Slicer: the "
                         "module installs it with its other requirements)") from None
    log.info("loading the brain extractor (deepbet)")
    with warnings.catch_warnings():  # its TorchScript files: torch's deprecation notice is for deepbet, not users
        warnings.simplefilter("ignore", DeprecationWarning)
        return BrainExtraction(no_gpu=cpu)
