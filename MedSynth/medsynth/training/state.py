"""The resumable training state: networks, optimizers and bookkeeping in one safetensors file.

Tensors go in the safetensors body, everything else (optimizer hyperparameters, epoch, history) in its
JSON header, so resuming never unpickles anything. Written atomically, and the state before it is kept as
``state.previous.safetensors`` until the next save: a state file damaged afterwards (a truncated copy, a
full disk elsewhere) is not a dead end, the run resumes from the epoch before.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..core.errors import ConfigError
from ..core.files import atomic_output
from ..core.run_folder import previous_state

log = logging.getLogger(__name__)
META_KEY = "medsynth.training_state"


def save_state(
    path: Path,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    extra: dict[str, Any],
) -> None:
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, Any] = {}
    stored: set[int] = set()
    for name, net in networks.items():
        for key, value in net.state_dict().items():
            value = value.detach().cpu().contiguous()
            if value.data_ptr() in stored:
                value = value.clone()  # a block two networks share (UNIT): safetensors stores each tensor once
            stored.add(value.data_ptr())
            tensors[f"net.{name}.{key}"] = value
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
        if path.is_file():  # the new state is complete: the one before becomes the fallback
            os.replace(path, previous_state(path))


def load_state(
    path: Path,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Restore ``networks`` and ``optimizers`` in place; returns the ``extra`` bookkeeping. An unreadable
    state falls back to the previous one (with a warning); with neither, the error says how to go on."""
    try:
        return _load(path, networks, optimizers)
    except UnreadableState as exc:
        previous = previous_state(path)
        if not previous.is_file():
            raise ConfigError(f"{exc}; nothing older is kept. The best model so far, if any, is in "
                              f"{path.parent / 'best.safetensors'}; start afresh in this folder with "
                              f"--resume {path.parent} --restart") from None
        log.warning("%s; resuming from the state of the epoch before (%s)", exc, previous.name)
        try:
            return _load(previous, networks, optimizers)
        except UnreadableState as older:
            raise ConfigError(f"{exc}, and {older}; start afresh in this folder with --resume {path.parent} "
                              "--restart") from None


class UnreadableState(Exception):  # noqa: N818 - a condition load_state recovers from
    pass


def _load(path: Path, networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> dict:
    if not path.is_file():
        raise UnreadableState(f"{path}: the training state is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[META_KEY])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        groups, extra = meta["param_groups"], meta["extra"]
        if not isinstance(groups, dict) or set(optimizers) - set(groups):
            raise KeyError(f"optimizer groups for {', '.join(sorted(set(optimizers) - set(groups or {})))}")
    except Exception as exc:
        raise UnreadableState(f"{path}: unreadable training state ({type(exc).__name__}: {exc})") from None
    for name, net in networks.items():
        prefix = f"net.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        expected = net.state_dict()
        differ = [f"{k}: saved {tuple(state[k].shape)}, now {tuple(v.shape)}" for k, v in expected.items()
                  if k in state and tuple(state[k].shape) != tuple(v.shape)]
        missing = sorted(expected.keys() - state.keys())
        if differ or missing:
            detail = differ[0] if differ else f"{len(missing)} tensor(s) missing, e.g. {missing[0]}"
            count = len(differ) or len(missing)
            raise ConfigError(f"{path}: the saved {name} does not fit this configuration ({count} tensor(s) differ; "
                              f"{detail}): resume with the run's own settings (its config.yaml), or train another "
                              "network in a new folder")
        net.load_state_dict(state, strict=True)
    for name, opt in optimizers.items():
        prefix = f"opt.{name}."
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, field = key[len(prefix):].split(".", 1)
                state.setdefault(int(index), {})[field] = value
        try:
            opt.load_state_dict({"state": state, "param_groups": groups[name]})
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: the saved {name} optimizer does not fit this configuration ({exc}); resume "
                              "with the run's own settings, or start afresh with --restart") from None
    return extra
