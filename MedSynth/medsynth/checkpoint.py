"""Safe, self-describing model files: safetensors weights with the model card in the header.

Loading never unpickles: PyTorch ``.pt``/``.pth`` files (zip or raw pickle) are recognised by their
first bytes and refused before anything in them is read, since unpickling can run arbitrary code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from .core.card import ModelCard
from .core.errors import ModelError
from .core.files import atomic_output
from .core.model_file import CARD_KEY, read_card
from .models import build_model

log = logging.getLogger(__name__)



@dataclass
class LoadedModel:
    """A network in eval mode with its card."""

    model: nn.Module
    card: ModelCard
    path: Path | None = None


def build_from_card(card: ModelCard) -> nn.Module:
    return build_model(card.architecture, **card.hyperparameters)


def save_model(model: nn.Module, card: ModelCard, path: str | Path, half: bool = False) -> Path:
    """Write ``model``'s state and ``card`` atomically; ``half`` stores floating tensors as float16."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ModelError(f"{path}: model files must end in .safetensors")
    # The card must rebuild exactly this state dict, or the file could never be loaded again.
    expected = build_from_card(card).state_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _check_tensors(expected, state, path)
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    with atomic_output(path) as tmp:
        save_file(state, str(tmp), metadata={CARD_KEY: card.to_json()})
    return path


MAX_PARAMETERS = 2_000_000_000  # 8 GB of float32 weights: far above any synthesis network
FLOAT_DTYPES, INT_DTYPES = {"F16", "BF16", "F32", "F64"}, {"I16", "I32", "I64", "U8", "I8"}


def check_input_channels(card: ModelCard, network: nn.Module, path: Path | str) -> None:
    """The channels the engine will feed (each input contrast, with ``inference.context`` neighbouring slices on
    each side for a 2D model) are the channels the network takes: a card that disagrees with its weights fails
    here, not with a convolution error in the middle of a synthesis."""
    takes = getattr(network, "in_channels", None)
    if takes is None or card.engine == "voxelwise":
        return
    context = int(card.inference.get("context", 0)) if card.engine == "slicewise" else 0
    fed = len(card.inputs) * (2 * context + 1)
    if int(takes) != fed:
        raise ModelError(f"{path}: the card feeds {fed} channel(s) ({len(card.inputs)} input(s) x "
                         f"{2 * context + 1} slice(s): inference.context = {context}) but its network takes {takes}; "
                         "the card does not describe these weights")


def check_stored_weights(card: ModelCard, path: Path) -> None:
    """The network the card describes, built on PyTorch's meta device (no memory), against the names, shapes
    and dtypes the file's header declares: a hostile card or a mismatched file fails here, before anything is
    allocated or read."""
    with torch.device("meta"):
        skeleton = build_from_card(card)
    check_input_channels(card, skeleton, path)
    expected = skeleton.state_dict()
    count = sum(t.numel() for t in expected.values())
    if count > MAX_PARAMETERS:
        raise ModelError(f"{path}: the card describes a network of {count:,} parameters, over the limit of "
                         f"{MAX_PARAMETERS:,}; the card is broken or hostile")
    try:
        with safe_open(str(path), framework="numpy") as f:
            stored = {k: f.get_slice(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
            shapes = {k: torch.empty(tuple(s.get_shape()), device="meta") for k, s in stored.items()}
            dtypes = {k: s.get_dtype() for k, s in stored.items()}
    except Exception as exc:
        raise ModelError(f"{path}: cannot read the weights' header (corrupt file): {exc}") from None
    _check_tensors(expected, shapes, path)
    wrong = [f"{k} is {dtypes[k]}" for k, t in expected.items()
             if dtypes[k] not in (FLOAT_DTYPES if t.is_floating_point() else INT_DTYPES)]
    if wrong:
        raise ModelError(f"{path}: weights of the wrong type ({_few(wrong)}); expected floating-point weights "
                         "(F16, BF16, F32 or F64) and integer counters")


def load_model(path: str | Path, device: torch.device | str = "cpu") -> LoadedModel:
    """Rebuild the network from the card and load the weights, checking they match exactly (first on the
    meta device against the header, so nothing is allocated for a file that does not fit its card)."""
    path = Path(path)
    card = read_card(path)
    check_stored_weights(card, path)
    model = build_from_card(card)
    expected = model.state_dict()
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except Exception as exc:
        raise ModelError(f"{path}: cannot read the weights (corrupt or truncated file): {exc}") from None
    _check_tensors(expected, state, path)
    state = {k: v.to(expected[k].dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    model.eval().to(device)
    return LoadedModel(model, card, path)


def _check_tensors(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path) -> None:
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    problems = []
    if missing:
        problems.append(f"missing tensors {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors {_few(unexpected)}")
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs card {tuple(expected[k].shape)}"
        for k in sorted(expected.keys() & state.keys())
        if tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if shapes:
        problems.append(f"wrong shapes ({_few(shapes)})")
    if problems:
        raise ModelError(
            f"{path}: weights do not match the architecture its card describes: {'; '.join(problems)}"
        )


def _few(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
