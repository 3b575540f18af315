"""Which Python packages MedSynth still needs in this Python, and how they get there inside Slicer.

The requirements come from the files pip also reads for the ``medsynth`` distribution (pyproject.toml
points at them), so there is one list:

- ``Resources/requirements.txt``: installed into Slicer; torch through the PyTorch extension
  (``PyTorchUtils``, with the file's floor), the rest through pip after one confirmation;
- ``Resources/requirements-bundled.txt``: what Slicer ships (numpy, SciPy, SimpleITK, packaging). These are
  checked, never installed: Slicer's SimpleITK carries the image IO ``sitkUtils`` needs, and a PyPI wheel
  over it would break other modules. pip is also told to keep them at their installed versions.

Checking imports none of the packages (``importlib.metadata`` only), so it runs when Slicer starts.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

from medsynth.core.errors import MedSynthError
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

RESOURCES = Path(__file__).resolve().parents[1] / "Resources"
INSTALL_FILE, BUNDLED_FILE = RESOURCES / "requirements.txt", RESOURCES / "requirements-bundled.txt"
SLICER_INSTALLS = ("torch",)  # installed by an extension, not by pip


class DependencyError(MedSynthError):
    """A dependency cannot be satisfied from inside this Slicer."""


def loadRequirements(path: Path) -> list[Requirement]:
    """A requirements file as ``slicer.packaging.load_requirements`` reads it (comments and pip options
    skipped), also on Slicer 5.10, which has no ``slicer.packaging``."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def installedVersion(name: str) -> Version | None:
    try:
        return Version(importlib.metadata.version(name))
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return None


def satisfied(requirement: Requirement | str) -> bool:
    """Whether the requirement is installed at an accepted version (local tags such as +cpu allowed)."""
    requirement = Requirement(str(requirement))
    version = installedVersion(requirement.name)
    return version is not None and requirement.specifier.contains(version, prereleases=True)


def torchRequirement() -> Requirement:
    return next(r for r in loadRequirements(INSTALL_FILE) if r.name == "torch")


def pipRequirements() -> list[Requirement]:
    """What pip installs into Slicer: everything in requirements.txt but torch."""
    return [r for r in loadRequirements(INSTALL_FILE) if r.name not in SLICER_INSTALLS]


def bundledRequirements() -> list[Requirement]:
    return loadRequirements(BUNDLED_FILE)


def missingRequirements(includeTorch: bool = True) -> list[str]:
    """The requirements not yet satisfied, bundled ones included (as text, for messages)."""
    wanted = [*bundledRequirements(), *([torchRequirement()] if includeTorch else []), *pipRequirements()]
    return [str(r) for r in wanted if not satisfied(r)]


def bundledConstraints() -> list[str]:
    """pip constraints that keep every package Slicer ships at its installed version."""
    return [f"{r.name}=={installedVersion(r.name)}" for r in bundledRequirements() if installedVersion(r.name)]


def installDependencies(confirm: Callable[[list[str]], bool], installTorch: Callable[[str], bool],
                        pipInstall: Callable[[list[str], list[str]], None]) -> bool:
    """Ask once (``confirm(missing)``), then install torch (``installTorch(">=floor")``: PyTorchUtils in the
    module) and the rest (``pipInstall(requirements, constraints)``); True when nothing is missing any more.
    A bundled package that is missing or too old is not installed: it means an unsupported Slicer."""
    broken = [str(r) for r in bundledRequirements() if not satisfied(r)]
    if broken:
        raise DependencyError(f"this Slicer's own {', '.join(broken)} is missing or too old; MedSynth needs "
                              "3D Slicer 5.10 or newer, whose bundled packages it uses as they are")
    missing = missingRequirements()
    if not missing:
        return True
    if not confirm(missing):
        return False
    torch = torchRequirement()
    if not satisfied(torch) and not installTorch(str(torch.specifier)):
        return False
    others = [str(r) for r in pipRequirements() if not satisfied(r)]
    if others:
        pipInstall(others, bundledConstraints())
    return not missingRequirements()


# Inside Slicer


def installTorch(specifier: str) -> bool:
    """torch through the PyTorch extension's ``PyTorchUtils`` (the right CUDA/CPU build for this machine)."""
    try:
        import PyTorchUtils
    except ImportError:
        raise DependencyError("MedSynth needs the PyTorch extension, which is not installed: install 'PyTorch' "
                              "from the Extensions Manager, restart Slicer, then click the button again") from None
    if PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=False, torchVersionRequirement=specifier):
        return True
    raise DependencyError(f"PyTorch (torch{specifier}) could not be installed; the PyTorch module's log says why")


def pipInstall(requirements: list[str], constraints: list[str]) -> None:
    """pip into Slicer's Python with ``constraints`` (the bundled packages and torch held at their versions):
    ``slicer.packaging.pip_ensure`` on Slicer >= 5.11, ``slicer.util.pip_install`` on 5.10."""
    import tempfile

    import slicer

    held = [*constraints, *(f"{n}=={installedVersion(n)}" for n in SLICER_INSTALLS if installedVersion(n))]
    with tempfile.TemporaryDirectory(prefix="medsynth-pip-") as folder:
        constraintsFile = Path(folder) / "constraints.txt"
        constraintsFile.write_text("\n".join(held) + "\n")
        try:
            import slicer.packaging as slicerPackaging  # an explicit import: the attribute exists only after one
        except ImportError:
            slicerPackaging = None
        if slicerPackaging is not None and hasattr(slicerPackaging, "pip_ensure"):
            slicerPackaging.pip_ensure([Requirement(r) for r in requirements], constraints=str(constraintsFile),
                                       prompt_install=False, requester="MedSynth")
        else:
            slicer.util.pip_install(["-c", str(constraintsFile), *requirements])


def ensureDependencies(confirm: Callable[[list[str]], bool]) -> bool:
    """The module's "Install dependencies..." button: everything above, with any failure shown as one
    message (what is missing and what to do) instead of a traceback. True when MedSynth can run."""
    from .ErrorDisplay import errorsShown
    from .Signal import dependenciesChanged

    ready = False
    with errorsShown("MedSynth's Python packages could not be installed."):
        ready = installDependencies(confirm, installTorch, pipInstall)
    if ready:
        dependenciesChanged.emit()  # the other module stops offering the install too
    return ready


class DependencyLogic:
    """What both modules' logic offers their widgets about MedSynth's packages (one definition for both)."""

    def missingDependencies(self) -> list[str]:
        return missingRequirements()

    def installDependencies(self, confirm: Callable[[list[str]], bool]) -> bool:
        return ensureDependencies(confirm)
