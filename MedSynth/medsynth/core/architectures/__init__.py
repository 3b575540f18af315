"""The one registry of architectures: what each is, how it runs, how it is trained and what to cite.

Each module of this package declares the architectures of one family (``ARCHITECTURES``, a tuple of
:class:`Architecture`); the registry finds them by listing the package, so adding an architecture means
adding its network (``medsynth.models``) and its declaration here, and touching no list elsewhere. The
package imports nothing beyond the standard library: the Slicer modules read it at start-up, before
PyTorch is installed, and the network classes are imported only when one is built.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

ROLES = ("generator", "baseline", "discriminator")
ENGINES = ("voxelwise", "slicewise", "patchwise")  # medsynth.inference's three ways of running a model
ENGINE_DIMS = {"slicewise": 2, "patchwise": 3}  # the spatial dimensions of a network each engine runs
UNPAIRED_OBJECTIVES = ("cyclegan", "unit")  # objectives that train on a source and a target domain


@dataclass(frozen=True)
class Architecture:
    """One architecture. ``engine`` None: the ``spatial_dims`` hyperparameter decides (2 or 3);
    ``objective`` None: nothing to train (a discriminator is trained by its generator's objective)."""

    name: str
    role: str
    factory: str  # "module:attribute", imported when the network is built
    description: str
    engine: str | None = None
    objective: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)  # config sections the paper trained it with
    citations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"{self.name}: role must be one of {ROLES}, got {self.role!r}")
        if self.engine is not None and self.engine not in ENGINES:
            raise ValueError(f"{self.name}: engine must be one of {ENGINES}, got {self.engine!r}")
        if ":" not in self.factory:
            raise ValueError(f"{self.name}: factory must read 'module:attribute', got {self.factory!r}")

    @property
    def trainable(self) -> bool:
        return self.objective is not None

    @property
    def unpaired(self) -> bool:
        """Trained on unpaired data: source and target volumes from different subjects, folders or sites."""
        return self.objective in UNPAIRED_OBJECTIVES

    def engine_for(self, hyperparameters: dict[str, Any]) -> str:
        """The engine a network of this architecture built with ``hyperparameters`` runs in."""
        if self.engine is not None:
            return self.engine
        dims = hyperparameters.get("spatial_dims", 2)
        return {2: "slicewise", 3: "patchwise"}.get(dims, f"spatial_dims={dims!r}")

    def load_factory(self) -> Any:
        module, _, attribute = self.factory.partition(":")
        return getattr(importlib.import_module(module), attribute)


@functools.cache
def _registry() -> dict[str, Architecture]:
    found: dict[str, Architecture] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for arch in getattr(module, "ARCHITECTURES", ()):
            if arch.name in found:
                raise ValueError(f"architecture '{arch.name}' is declared twice ({info.name})")
            found[arch.name] = arch
    return dict(sorted(found.items()))


def architectures(role: str | None = None, trainable: bool | None = None,
                  unpaired: bool | None = None) -> list[Architecture]:
    """The declared architectures, by name; filtered by ``role``, by whether they can be trained and by whether
    they train on unpaired data."""
    return [a for a in _registry().values()
            if (role is None or a.role == role) and (trainable is None or a.trainable == trainable)
            and (unpaired is None or a.unpaired == unpaired)]


def names(role: str | None = None, trainable: bool | None = None, unpaired: bool | None = None) -> list[str]:
    return [a.name for a in architectures(role, trainable, unpaired)]


def architecture(name: str) -> Architecture:
    """The declaration of ``name``; an unknown name is a ``ModelError`` listing the known ones."""
    registry = _registry()
    if name not in registry:
        from ..errors import ModelError

        raise ModelError(f"unknown architecture '{name}'; valid names: {', '.join(registry)}")
    return registry[name]


def described(role: str = "generator", trainable: bool | None = True) -> str:
    """``"pgan (...), unet (...)"``: the names with their one-line descriptions, for help texts and errors."""
    return "; ".join(f"{a.name} ({a.description})" for a in architectures(role, trainable))
