"""The resumable training state: networks, optimizers and bookkeeping in one safetensors file.

Tensors go in the safetensors body, everything else (optimizer hyperparameters, epoch, history) in its
JSON header, so resuming never unpickles anything. Written atomically: an interruption while saving
leaves the previous state intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..errors import ConfigError
from ..io import atomic_output

META_KEY = "medsynth.training_state"


def save_state(
    path: Path,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    extra: dict[str, Any],
) -> None:
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, Any] = {}
    for name, net in networks.items():
        for key, value in net.state_dict().items():
            tensors[f"net.{name}.{key}"] = value.detach().cpu().contiguous()
    for name, opt in optimizers.items():
        state = opt.state_dict()
        groups[name] = state["param_groups"]
        for index, values in state["state"].items():
            for key, value in values.items():
                if not isinstance(value, torch.Tensor):
                    value = torch.tensor(value)
                tensors[f"opt.{name}.{index}.{key}"] = value.detach().cpu().contiguous()
    meta = json.dumps({"param_groups": groups, "extra": extra})
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: meta})


def load_state(
    path: Path,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Restore ``networks`` and ``optimizers`` in place; returns the ``extra`` bookkeeping."""
    if not path.is_file():
        raise ConfigError(f"{path}: no training state to resume from")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[META_KEY])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except Exception as exc:
        raise ConfigError(f"{path}: unreadable training state ({exc}); start a new run") from None
    for name, net in networks.items():
        prefix = f"net.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ConfigError(f"{path}: the saved {name} does not fit this configuration ({exc})") from None
    for name, opt in optimizers.items():
        prefix = f"opt.{name}."
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, field = key[len(prefix):].split(".", 1)
                state.setdefault(int(index), {})[field] = value
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"][name]})
    return meta["extra"]
