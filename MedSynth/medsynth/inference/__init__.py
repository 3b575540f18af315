"""Running models over volumes: voxel-wise, slice-wise (2D/2.5D) and patch-wise (3D) engines."""

from .options import InferenceOptions
from .synthesize import check_contrast, synthesize

__all__ = ["InferenceOptions", "check_contrast", "synthesize"]
