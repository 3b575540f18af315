"""Architectures register by name, so a model card can say which network to rebuild."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import ModelError

_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}
ROLES = ("generator", "discriminator")


def register_architecture(
    name: str, role: str = "generator"
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class decorator: ``@register_architecture("pgan")`` makes ``build_model("pgan", ...)`` work.

    ``role`` separates what a model card can hold (generators, baselines) from discriminators, which
    only the trainer builds.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _ARCHITECTURES and _ARCHITECTURES[name] is not factory:
            raise ValueError(f"architecture '{name}' is registered twice")
        _ARCHITECTURES[name] = factory
        factory.architecture_name = name  # type: ignore[attr-defined]
        factory.architecture_role = role  # type: ignore[attr-defined]
        return factory

    return decorate


def architecture_names(role: str = "generator") -> list[str]:
    return sorted(n for n, f in _ARCHITECTURES.items() if f.architecture_role == role)  # type: ignore[attr-defined]


def get_architecture(name: str) -> Callable[..., nn.Module]:
    if name not in _ARCHITECTURES:
        valid = ", ".join(sorted(_ARCHITECTURES))
        raise ModelError(f"unknown architecture '{name}'; valid names: {valid}")
    return _ARCHITECTURES[name]


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
