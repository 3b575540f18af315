"""The networks; :mod:`medsynth.core.architectures` declares them and :func:`build_model` builds one by name."""

from .protocol import SynthesisNetwork
from .registry import architecture_names, build_model, get_architecture

__all__ = ["SynthesisNetwork", "architecture_names", "build_model", "get_architecture"]
