"""Running models over volumes: voxel-wise, slice-wise (2D/2.5D) and patch-wise (3D) engines.

``InferenceOptions`` and ``Synthesis`` import without torch (the Slicer module builds options in Slicer's process
and runs the model in a child); ``synthesize``, ``synthesize_with_uncertainty`` and ``check_contrast``, which
need torch, load on first use.
"""

from ..core.options import InferenceOptions, Synthesis

__all__ = ["InferenceOptions", "Synthesis", "check_contrast", "synthesize", "synthesize_with_uncertainty"]


def __getattr__(name: str):
    if name in ("check_contrast", "synthesize", "synthesize_with_uncertainty"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
