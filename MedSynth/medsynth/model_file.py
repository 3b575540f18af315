"""The model file format, without PyTorch: a safetensors file whose header metadata holds the model card.

Checking a file and reading its card need only the JSON header, so the Slicer module lists models and
shows their cards without importing torch into Slicer's process (``safetensors`` reads the header through
its NumPy front end). Loading the weights is ``medsynth.checkpoint``'s job.
"""

from __future__ import annotations

import struct
from pathlib import Path

from safetensors import safe_open

from .card import ModelCard, loads_json
from .errors import InputError, ModelError
from .file_checks import regular_file

CARD_KEY = "medsynth.card"
MAX_HEADER = 100 * 1024 * 1024


def read_card(path: str | Path) -> ModelCard:
    """The card of a model file, reading only the header (cheap, no weights, no torch)."""
    path = _check_file(Path(path))
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error type for corrupt files
        raise ModelError(f"{path}: corrupt safetensors file: {exc}") from None
    if CARD_KEY not in metadata:
        raise ModelError(f"{path}: safetensors file has no MedSynth model card ('{CARD_KEY}' metadata)")
    return ModelCard.from_json(metadata[CARD_KEY], where=str(path))


def _check_file(path: Path) -> Path:
    """Refuse anything that is not a safetensors file, by its first bytes, before parsing it."""
    try:
        regular_file(path, "model file (.safetensors)")
    except InputError as exc:
        raise ModelError(str(exc)) from None
    with path.open("rb") as f:
        head = f.read(9)
    size = path.stat().st_size
    header_len = struct.unpack("<Q", head[:8])[0] if len(head) >= 9 else 0
    # A safetensors file starts with its header length and "{". Only when that fails are pickle signatures
    # checked: a valid header length can itself begin with the byte 0x80 that starts a pickle.
    looks_safetensors = len(head) >= 9 and head[8:9] == b"{" and header_len <= min(size - 8, MAX_HEADER)
    pickled = head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))
    if not looks_safetensors and pickled:
        raise ModelError(
            f"{path}: is a PyTorch pickle checkpoint (.pt/.pth); MedSynth only loads .safetensors model files "
            "with a model card, because unpickling a file can run arbitrary code. Nothing in it was read."
        )
    if len(head) < 9:
        raise ModelError(f"{path}: too short to be a safetensors model file ({size} bytes)")
    if not looks_safetensors:
        raise ModelError(f"{path}: not a safetensors file (bad header); expected a MedSynth .safetensors model")
    try:
        with path.open("rb") as f:
            f.seek(8)
            header = f.read(header_len).decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{path}: corrupt safetensors header (not UTF-8 text)") from None
    loads_json(header, str(path), "corrupt safetensors header: it")  # strict JSON, nested no deeper than a card
    return path
