"""The settings MedSynth checks in one place, whoever gives them: a model card, the command line, a script or
the Slicer module. Each check returns its one message (naming where the value came from), so the same wrong
value is refused with the same words everywhere. Standard library only: Slicer's process imports it at start.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_PATCH, MAX_PATCH = 8, 512  # voxels per side of a 3D patch: 512^3 float32 activations are already 0.5 GiB
FULL = "full"  # one patch over the whole volume (patch size), or no overlap at all (stride: one pass)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def patch_problem(name: str, value, where: str = "") -> str | None:
    """Why ``value`` is no ``patch_size`` or ``stride`` (None: it is one). Either is ``"full"``, or a number of
    voxels (one, or one per axis): a patch size from ``MIN_PATCH``, a stride from 1, both up to ``MAX_PATCH``."""
    if value is None or value == FULL:
        return None
    low = MIN_PATCH if name == "patch_size" else 1
    values = [value] if _is_int(value) else list(value) if isinstance(value, Sequence) and not isinstance(
        value, str) else None
    if values is not None and len(values) in (1, 3) and all(_is_int(v) and low <= v <= MAX_PATCH for v in values):
        return None
    label = where or name.replace("_", " ")
    return f"{label} must be {low} to {MAX_PATCH} voxels (one number, or one per axis) or '{FULL}', got {value!r}"


def parse_patch_setting(name: str, text: str, where: str = "") -> tuple[int | str | None, str | None]:
    """Text as typed (a command-line flag, a Slicer field) -> ``(value, problem)``: empty means the model's own
    setting (None), digits a number of voxels, ``full`` itself; anything else is a problem."""
    text = text.strip()
    if not text:
        return None, None
    if text == FULL:
        return FULL, None
    try:
        value = int(text)
    except ValueError:
        value = text
    return value, patch_problem(name, value, where)
