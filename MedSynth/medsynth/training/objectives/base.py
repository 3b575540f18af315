"""The seam between the generic training loop and what is being optimized."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, is_dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ...losses.voxel import mean_within  # noqa: F401  (the objectives' masked mean)
from ..config import TrainConfig
from ..context import TrainContext


@dataclass
class Batch:
    """One mini-batch: source images (inputs x context slices as channels), targets, and head masks.

    Paired data: ``target`` is each source's own target and ``mask`` their head. Unpaired data: ``target``
    holds target-domain slices unrelated to the sources (with their context slices), ``mask`` the sources'
    heads and ``target_mask`` the targets'."""

    source: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    target_mask: torch.Tensor | None = None


class Objective(ABC):
    """An objective builds its networks and optimizers from the configuration and trains them one step at
    a time. The loop saves and restores ``networks`` and ``optimizers`` by name, sets the learning rate of
    every optimizer, validates ``generator`` and exports it as the model.

    Training may run in ``phases`` of ``optim.epochs`` epochs each (an auto-context cascade's stages):
    :meth:`enter_epoch` is told every epoch first and says when a new phase begins, so the loop restarts
    the best-epoch search for it.
    """

    name: ClassVar[str]
    data: ClassVar[str] = "paired"  # or "unpaired": what the loop loads (training.unpaired)
    phases: int = 1

    def __init__(self, config: TrainConfig, context: TrainContext) -> None:
        self.config, self.context = config, context
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    @property
    @abstractmethod
    def generator(self) -> nn.Module:
        """The network to validate and export, as trained so far."""

    @property
    def spatial_dims(self) -> int:
        return int(self.generator.spatial_dims)

    @abstractmethod
    def step(self, batch: Batch) -> dict[str, float]:
        """One update; returns the named losses (``loss_G``, ``loss_D``, ``loss_G_l1``, ...)."""

    def enter_epoch(self, epoch: int, load_best: Callable[[], nn.Module]) -> bool:
        """Called before each epoch; True when ``epoch`` starts a new phase (``load_best``: the best model
        written so far)."""
        return False

    def learning_rates(self) -> dict[str, float]:
        """Each optimizer's learning rate before the schedule's decay (default: ``optim.lr`` for all)."""
        return dict.fromkeys(self.optimizers, self.config.optim.lr)

    def train(self) -> None:
        """Put the networks in training mode for an epoch."""
        for network in self.networks.values():
            network.train()

    def card_entry(self) -> dict[str, Any]:
        """What the model's card records of this objective's own settings: its configuration section (the
        section named like the objective, e.g. ``cyclegan`` or ``unit``), if it has one."""
        section = getattr(self.config, self.name, None)
        return {self.name: dict(vars(section))} if is_dataclass(section) else {}

    def start_from(self, model: nn.Module, name: str) -> None:
        """Fine-tuning: start the exported network from ``model``'s weights."""
        raise NotImplementedError(f"the {self.name} objective cannot fine-tune '{name}'")

    def hyperparameters(self) -> dict[str, Any]:
        """The exported network's hyperparameters, as its model card records them."""
        return {}

    @property
    def reverse(self) -> tuple[nn.Module, dict[str, Any]] | None:
        """An unpaired objective's target -> source generator and its hyperparameters, exported beside the
        model (None: there is none)."""
        return None

    def summary(self, values: dict[str, float]) -> str:
        """A short progress text for one step's losses."""
        return " ".join(f"{k.removeprefix('loss_')} {v:.3f}" for k, v in values.items() if k.count("_") == 1)
