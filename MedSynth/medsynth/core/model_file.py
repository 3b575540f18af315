"""The model file format, without PyTorch: a safetensors file whose header metadata holds the model card.

Checking a file and reading its card need only the JSON header, so the Slicer module lists models and
shows their cards without importing torch into Slicer's process: the header is the file's first 8 bytes (its
length) and that much JSON, whose ``__metadata__`` holds string values (the safetensors format). Loading and
checking the weights is ``medsynth.checkpoint``'s job, through ``safetensors`` itself.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from .card import ModelCard, loads_json
from .errors import InputError, ModelError
from .files import regular_file

CARD_KEY = "medsynth.card"  # the metadata key in every model file: never renamed
MAX_HEADER = 100 * 1024 * 1024


def read_card(path: str | Path) -> ModelCard:
    """The card of a model file, reading only the header (cheap, no weights, no torch)."""
    path, header = _check_file(Path(path))
    metadata = header.get("__metadata__") or {}  # _check_file made sure the header is a table
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelError(f"{path}: corrupt safetensors header: '__metadata__' must map names to text")
    if CARD_KEY not in metadata:
        raise ModelError(f"{path}: safetensors file has no MedSynth model card ('{CARD_KEY}' metadata)")
    return ModelCard.from_json(metadata[CARD_KEY], where=str(path))


def _check_file(path: Path) -> tuple[Path, dict]:
    """Refuse anything that is not a safetensors file, by its first bytes, before parsing it; the parsed header."""
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
    # strict JSON, nested no deeper than a card
    parsed = loads_json(header, str(path), "corrupt safetensors header: it")
    _check_tensor_table(path, parsed, size - 8 - header_len)
    return path, parsed


# bytes per element of the safetensors dtypes (the format's own list)
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _check_tensor_table(path: Path, header: object, data_bytes: int) -> None:
    """The header's tensors are well formed and tile the data that follows it exactly, as the format requires:
    a truncated or padded file is refused here, torch-free; whether they fit the card's network is
    ``medsynth.checkpoint``'s check when the model is loaded."""
    if not isinstance(header, dict):
        raise ModelError(f"{path}: corrupt safetensors header (not a table of tensors)")
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape)
                or entry.get("dtype") not in DTYPE_BYTES or not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(n, int) for n in offsets)):
            raise ModelError(f"{path}: corrupt safetensors header: tensor '{name}' lacks a valid dtype, shape or "
                             "offsets")
        count = math.prod(shape)
        if offsets[1] - offsets[0] != count * DTYPE_BYTES[entry["dtype"]]:
            raise ModelError(f"{path}: corrupt safetensors header: tensor '{name}' {entry['dtype']} {shape} does not "
                             f"fill its {offsets[1] - offsets[0]} bytes")
        spans.append(offsets)
    end = 0  # (no tensors at all is a parameter-free model, such as the identity baseline)
    for begin, stop in sorted(spans):
        if begin != end:
            raise ModelError(f"{path}: corrupt safetensors header: the tensors' data overlap or leave gaps")
        end = stop
    if end != data_bytes:
        raise ModelError(f"{path}: the file holds {data_bytes} bytes of weights where its header declares {end} "
                         "(truncated or corrupt); expected a complete MedSynth .safetensors model")
