"""Model architectures; importing this package registers every one of them."""

from . import convnet, intensity_maps, nie, patchgan, pgan, unet  # noqa: F401  (registration side effect)
from .registry import architecture_names, build_model, get_architecture, register_architecture

__all__ = ["architecture_names", "build_model", "get_architecture", "register_architecture"]
