"""Which Python packages MedSynth still needs in this Python, checked without importing any of them.

Inside Slicer, torch comes from the SlicerPyTorch extension (``PyTorchUtils``, with ``TORCH_REQUIREMENT``
as floor); the rest through Slicer's pip helpers, after one confirmation dialog (in the module file).
The list mirrors the ``medsynth`` distribution's dependencies (a test keeps them equal).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable

TORCH_REQUIREMENT = "torch>=2.2"
REQUIREMENTS = ("numpy>=1.24", "scipy>=1.10", "SimpleITK>=2.3", "nibabel>=5.0", "monai>=1.4", "safetensors>=0.4",
                "tqdm>=4.60", "matplotlib>=3.7", "pyyaml>=6.0")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def satisfied(requirement: str) -> bool:
    """Whether ``name>=floor`` is installed at that version or newer."""
    name, floor = requirement.split(">=")
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return _version(installed) >= _version(floor)


def missingRequirements(includeTorch: bool = False) -> list[str]:
    """The requirements not yet satisfied (torch apart: SlicerPyTorch installs it)."""
    wanted = (TORCH_REQUIREMENT, *REQUIREMENTS) if includeTorch else REQUIREMENTS
    return [r for r in wanted if not satisfied(r)]


def installDependencies(confirm: Callable[[list[str]], bool], installTorch: Callable[[str], bool],
                        pipInstall: Callable[[list[str]], None]) -> bool:
    """Ask once (``confirm(missing)``), then install torch (``installTorch(">=floor")``, SlicerPyTorch in the
    module) and the rest (``pipInstall(requirements)``); True when nothing is missing any more."""
    missing = missingRequirements(includeTorch=True)
    if not missing:
        return True
    if not confirm(missing):
        return False
    if TORCH_REQUIREMENT in missing and not installTorch(TORCH_REQUIREMENT.removeprefix("torch")):
        return False
    others = missingRequirements()
    if others:
        pipInstall(others)
    return not missingRequirements(includeTorch=True)
