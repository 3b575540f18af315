"""Training objectives: what a training step optimizes. The loop (``training.trainer``) is generic; an
objective owns its networks, their optimizers, one step and the model it exports. Each module of this
package defines one (``OBJECTIVE``); an architecture's declaration names the objective that trains it."""

from __future__ import annotations

import importlib
import pkgutil

from ...core.errors import ConfigError
from .base import Batch, Objective


def objective_class(name: str) -> type[Objective]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        cls = getattr(importlib.import_module(f"{__name__}.{info.name}"), "OBJECTIVE", None)
        if cls is not None:
            found[cls.name] = cls
    if name not in found:
        raise ConfigError(f"unknown training objective '{name}'; known: {', '.join(sorted(found))}")
    return found[name]


__all__ = ["Batch", "Objective", "objective_class"]
