"""The paired conditional GAN objective (pix2pix, seed 000's pGAN, U-Net, Nie et al.'s 3D GAN).

Each step updates the discriminator on a mini-batch of half synthetic, half real (source, target) pairs,
then the generator on its weighted losses (adversarial, L1, L2, gradient difference, perceptual; L1 and
L2 inside the head only with ``loss.masked``). An auto-context cascade (seed 001) is trained stage by
stage: each stage is a phase of ``optim.epochs`` epochs with its own discriminator and optimizers, and
sees the best of the stages before it, frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ...core.architectures import architecture
from ...core.errors import ConfigError
from ...losses import AdversarialLoss, PerceptualLoss, gradient_difference_loss
from ...models import build_model
from ...models.nie import AutoContextCascade
from ..config import TrainConfig
from ..context import TrainContext
from .base import Batch, Objective, mean_within


class PairedObjective(Objective):
    name = "paired"

    def __init__(self, config: TrainConfig, context: TrainContext) -> None:
        super().__init__(config, context)
        self.stage: int | None = None  # the cascade stage being trained
        torch.manual_seed(config.seed)
        self.network = build_model(config.model.architecture, **self.hyperparameters()).to(context.device)
        self.phases = len(self.network.stages) if isinstance(self.network, AutoContextCascade) else 1
        self.memory_format = context.memory_format(self.spatial_dims)
        self.network.to(memory_format=self.memory_format)
        loss = config.loss
        self.adversarial = AdversarialLoss(loss.adversarial)
        self.perceptual = (PerceptualLoss(loss.vgg_weights, loss.vgg_layer).to(context.device)
                           if loss.perceptual > 0 else None)
        self.networks = {"generator": self.network, "discriminator": self._new_discriminator()}
        self._new_optimizers()
        self._wrap()

    def hyperparameters(self) -> dict[str, Any]:
        cfg = self.config
        hyper = dict(cfg.model.hyperparameters)
        hyper.setdefault("in_channels", cfg.in_channels)
        if hyper["in_channels"] != cfg.in_channels:
            raise ConfigError(f"model.hyperparameters.in_channels={hyper['in_channels']} but data.context="
                              f"{cfg.data.context} gives {cfg.in_channels} input channel(s)")
        if self.phases > 1 and self.stage is not None:
            hyper["stages"] = self.stage + 1  # the cascade as trained so far
        return hyper

    @property
    def generator(self) -> nn.Module:
        """For a cascade: the chain up to the stage being trained (the whole chain before training starts)."""
        return self.network if self.phases == 1 or self.stage is None else self.network.truncated(self.stage + 1)

    def start_from(self, model: nn.Module, name: str) -> None:
        try:
            self.network.load_state_dict(model.state_dict())
        except RuntimeError as exc:
            raise ConfigError(f"init: the weights of '{name}' do not fit this configuration's generator "
                              f"({str(exc).splitlines()[0]}); leave model.hyperparameters to the model") from None

    def _new_discriminator(self) -> nn.Module:
        cfg = self.config
        hyper = {"in_channels": cfg.in_channels + 1, **cfg.model.discriminator_hyperparameters}
        if architecture(cfg.model.discriminator).engine == "patchwise":
            hyper.setdefault("patch_size", cfg.data.patch_size)  # a 3D discriminator sees whole patches
        return build_model(cfg.model.discriminator, **hyper).to(self.context.device, memory_format=self.memory_format)

    def _new_optimizers(self) -> None:
        o = self.config.optim
        self.optimizers = {k: self.context.optimizer(net.parameters(), o.lr, (o.beta1, o.beta2))
                           for k, net in self.networks.items()}

    def _wrap(self) -> None:
        """DDP wrappers for the updates; the plain modules serve everything else."""
        self.g = self.context.parallel(self.network)
        self.d = self.context.parallel(self.networks["discriminator"])

    def enter_epoch(self, epoch: int, load_best: Callable[[], nn.Module]) -> bool:
        """Cascades: at a stage's first epoch, restore the best earlier stages, freeze them, and start the
        new stage with a fresh discriminator and optimizers (seeded, so a resumed run does the same)."""
        stage, within = divmod(epoch, self.config.optim.epochs)
        if self.phases == 1 or stage == self.stage:
            self.stage = stage
            return False
        began = within == 0 and stage > 0
        if began:
            best = load_best()
            for k in range(stage):
                self.network.stages[k].load_state_dict(best.stages[k].state_dict())
            torch.manual_seed(self.config.seed + stage)
            self.networks["discriminator"] = self._new_discriminator()
        for k, module in enumerate(self.network.stages):
            module.requires_grad_(k == stage)
        if began:
            self._new_optimizers()
        self._wrap()
        self.stage = stage
        return began

    def train(self) -> None:
        super().train()
        for k in range(self.stage or 0):  # frozen cascade stages keep their batch-norm statistics
            self.network.stages[k].eval()

    def step(self, batch: Batch) -> dict[str, float]:
        cfg, ctx = self.config.loss, self.context
        source, target = batch.source, batch.target
        weight = batch.mask if cfg.masked else None
        discriminator, optimizers = self.networks["discriminator"], self.optimizers
        with ctx.autocast():
            fake = self.g(source, **({"stages_to_run": self.stage + 1} if self.phases > 1 else {}))
        values = {}
        if cfg.adversarial_weight:
            discriminator.requires_grad_(True)
            optimizers["discriminator"].zero_grad(set_to_none=True)
            with ctx.autocast():  # one forward over a half synthetic, half real batch (DDP allows one)
                scores = self.d(torch.cat([torch.cat([source, fake.detach()], 1), torch.cat([source, target], 1)]))
                fake_scores, real_scores = scores.float().chunk(2)
                loss_d = cfg.discriminator_factor * (self.adversarial(fake_scores, False)
                                                     + self.adversarial(real_scores, True))
            ctx.update(optimizers["discriminator"], loss_d)
            values["loss_D"] = loss_d.item()
            discriminator.requires_grad_(False)  # the generator's update must not touch D
        optimizers["generator"].zero_grad(set_to_none=True)
        with ctx.autocast():
            terms = {}
            if cfg.adversarial_weight:
                terms["adv"] = cfg.adversarial_weight * self.adversarial(
                    discriminator(torch.cat([source, fake], 1)).float(), True)
            fake32 = fake.float()
            if cfg.l1:
                terms["l1"] = cfg.l1 * mean_within((fake32 - target).abs(), weight)
            if cfg.l2:
                terms["l2"] = cfg.l2 * mean_within((fake32 - target).square(), weight)
            if cfg.gdl:
                terms["gdl"] = cfg.gdl * gradient_difference_loss(fake32, target, cfg.gdl_power)
            if self.perceptual is not None:
                terms["perceptual"] = cfg.perceptual * self.perceptual(fake32, target)
            loss_g = sum(terms.values())
        ctx.update(optimizers["generator"], loss_g)
        values["loss_G"] = loss_g.item()
        values.update({f"loss_G_{k}": v.item() for k, v in terms.items()})
        return values

    def summary(self, values: dict[str, float]) -> str:
        return f"G {values['loss_G']:.3f}" + (f" D {values['loss_D']:.3f}" if "loss_D" in values else "")


OBJECTIVE = PairedObjective
