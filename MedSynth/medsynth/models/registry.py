"""Building networks by architecture name, from their declarations in :mod:`medsynth.core.architectures`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from ..core.architectures import architecture, names
from ..core.errors import ModelError


def architecture_names(role: str = "generator") -> list[str]:
    return names(role)


def get_architecture(name: str) -> Callable[..., nn.Module]:
    """The network class (or factory) of architecture ``name``."""
    return architecture(name).load_factory()


def build_model(name: str, **hyperparameters: Any) -> nn.Module:
    """Instantiate architecture ``name``; wrong or missing hyperparameters give a clear error."""
    factory = get_architecture(name)
    try:
        inspect.signature(factory).bind(**hyperparameters)
    except TypeError as exc:
        raise ModelError(f"hyperparameters {sorted(hyperparameters)} do not fit architecture '{name}': {exc}") from None
    try:
        return factory(**hyperparameters)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"architecture '{name}' rejected its hyperparameters: {exc}") from None
