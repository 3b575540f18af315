"""What the unpaired objectives (cyclegan, unit) share: the checks of what unpaired data cannot give, the
exported source -> target network and the target -> source one beside it."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ...core.errors import ConfigError
from ..config import TrainConfig
from ..context import TrainContext
from .base import Objective


class UnpairedObjective(Objective):
    data = "unpaired"
    forward_name: ClassVar[str]  # the networks holding the source -> target and target -> source generators
    reverse_name: ClassVar[str]
    reconstruction: ClassVar[str]  # the settings that play the paired losses' part, for the error message

    def __init__(self, config: TrainConfig, context: TrainContext) -> None:
        super().__init__(config, context)
        if config.data.context:
            raise ConfigError(f"{self.name} trains on single slices: set data.context to 0 (a cycle needs the "
                              "synthetic neighbouring slices too)")
        paired_only = [f"loss.{k}" for k in ("l2", "gdl", "perceptual") if getattr(config.loss, k)]
        if paired_only:
            raise ConfigError(f"{', '.join(paired_only)} compare each output with its own target image, which unpaired "
                              f"data does not have: set them to 0 ({self.name}'s reconstruction terms are "
                              f"{self.reconstruction})")
        if config.data.normalization == "nyul":
            raise ConfigError(f"{self.name} trains both directions, and data.normalization nyul standardizes one "
                              "input contrast of paired data: use percentile")
        torch.manual_seed(config.seed)

    @property
    def generator(self) -> nn.Module:
        return self.networks[self.forward_name]

    def reverse_hyperparameters(self) -> dict[str, Any]:
        return {**self.hyperparameters(), "in_channels": 1}

    @property
    def reverse(self) -> tuple[nn.Module, dict[str, Any]] | None:
        if len(self.config.data.inputs) > 1:
            return None  # a one-to-many generator has no model card
        return self.networks[self.reverse_name], self.reverse_hyperparameters()

    def start_from(self, model: nn.Module, name: str) -> None:
        try:
            self.generator.load_state_dict(model.state_dict())
        except RuntimeError as exc:
            raise ConfigError(f"init: the weights of '{name}' do not fit this configuration's {self.forward_name} "
                              f"({str(exc).splitlines()[0]})") from None

