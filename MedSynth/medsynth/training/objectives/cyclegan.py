"""CycleGAN (Zhu et al. 2017; seed 004): unpaired translation with cycle consistency.

Two ResNet generators, G_AB (source -> target, the exported model) and G_BA (target -> source), and two
PatchGAN discriminators, D_B on target images and D_A on source images (unconditional: there is no partner
image to condition on). Per batch, ``cyclegan.generator_iterations`` generator updates on

    adversarial (D_B(G_AB(a)) and D_A(G_BA(b)) judged real)
    + lambda_ABA |G_BA(G_AB(a)) - a| + lambda_BAB |G_AB(G_BA(b)) - b|                 (cycle)
    + lambda_identity (lambda_BAB |G_AB(b) - b| + lambda_ABA |G_BA(a) - a|)           (identity)

then ``cyclegan.discriminator_iterations`` updates of each discriminator on real images against synthetic
ones drawn through a pool of earlier ones, the loss halved. L1 terms are taken inside the head with
``loss.masked``. Identity terms feed a target image to G_AB, so they need one input contrast.
"""

from __future__ import annotations

from typing import Any

import torch

from ...core.errors import ConfigError
from ...losses import AdversarialLoss, cycle_and_identity
from ...models import build_model
from ..config import TrainConfig
from ..context import TrainContext
from .base import Batch
from .pool import SyntheticPool
from .unpaired import UnpairedObjective


class CycleGANObjective(UnpairedObjective):
    name = "cyclegan"
    forward_name, reverse_name = "G_AB", "G_BA"
    reconstruction = "cyclegan.lambda_ABA and cyclegan.lambda_BAB"

    def __init__(self, config: TrainConfig, context: TrainContext) -> None:
        super().__init__(config, context)
        cfg, options = config, config.cyclegan
        if len(cfg.data.inputs) > 1 and options.lambda_identity:
            raise ConfigError(f"cyclegan.lambda_identity feeds target images to the {'+'.join(cfg.data.inputs)} "
                              "generator, which takes several inputs: set cyclegan.lambda_identity to 0")
        hyper = self.hyperparameters()
        device = context.device
        self.networks = {
            "G_AB": build_model(cfg.model.architecture, **hyper).to(device),
            "G_BA": build_model(cfg.model.architecture, **{**hyper, "in_channels": 1,
                                                           "out_channels": len(cfg.data.inputs)}).to(device),
        }
        for domain, channels in (("D_B", 1), ("D_A", len(cfg.data.inputs))):
            self.networks[domain] = build_model(cfg.model.discriminator, in_channels=channels,
                                                **cfg.model.discriminator_hyperparameters).to(device)
        for domain, channels in (("pool_B", 1), ("pool_A", len(cfg.data.inputs))):
            self.networks[domain] = SyntheticPool(options.synthetic_pool_size, (channels, cfg.data.size,
                                                                                 cfg.data.size)).to(device)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.optimizers = {
            "generators": context.optimizer([*self.networks["G_AB"].parameters(), *self.networks["G_BA"].parameters()],
                                            options.learning_rate_G, betas),
            "discriminators": context.optimizer([*self.networks["D_B"].parameters(),
                                                 *self.networks["D_A"].parameters()], options.learning_rate_D, betas),
        }
        self.adversarial = AdversarialLoss(cfg.loss.adversarial)
        # DDP wrappers for the updates (a generator may be called several times per step); the plain
        # discriminators judge the generators' outputs, frozen, in the generators' update
        self.parallel = {k: context.parallel(self.networks[k]) for k in ("G_AB", "G_BA", "D_A", "D_B")}

    def learning_rates(self) -> dict[str, float]:
        options = self.config.cyclegan
        return {"generators": options.learning_rate_G, "discriminators": options.learning_rate_D}

    def hyperparameters(self) -> dict[str, Any]:
        hyper = {"dense_blocks": 0, **self.config.model.hyperparameters}
        hyper.setdefault("in_channels", self.config.in_channels)
        return hyper

    def train(self) -> None:
        for key in ("G_AB", "G_BA", "D_A", "D_B"):
            self.networks[key].train()

    def step(self, batch: Batch) -> dict[str, float]:
        options, ctx = self.config.cyclegan, self.context
        a, b = batch.source, batch.target
        masks = (batch.mask, batch.target_mask) if self.config.loss.masked else (None, None)
        g_ab, g_ba = self.parallel["G_AB"], self.parallel["G_BA"]
        d_a, d_b = self.networks["D_A"], self.networks["D_B"]
        values: dict[str, float] = {}
        for _ in range(options.generator_iterations):
            self.networks["D_A"].requires_grad_(False)
            self.networks["D_B"].requires_grad_(False)
            self.optimizers["generators"].zero_grad(set_to_none=True)
            with ctx.autocast():
                fake_b, fake_a = g_ab(a), g_ba(b)
                rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
                identity = options.lambda_identity
                terms = {
                    "adv_B": self.adversarial(d_b(fake_b).float(), True),
                    "adv_A": self.adversarial(d_a(fake_a).float(), True),
                    **cycle_and_identity(a, b, rec_a, rec_b, options.lambda_ABA, options.lambda_BAB, identity,
                                         g_ab(b) if identity else None, g_ba(a) if identity else None, masks),
                }
                loss_g = sum(terms.values())
            ctx.update(self.optimizers["generators"], loss_g)
        values["loss_G"] = loss_g.item()
        values.update({f"loss_G_{k}": v.item() for k, v in terms.items()})
        pooled_b = self.networks["pool_B"].draw(fake_b.detach())
        pooled_a = self.networks["pool_A"].draw(fake_a.detach())
        self.networks["D_A"].requires_grad_(True)
        self.networks["D_B"].requires_grad_(True)
        for _ in range(options.discriminator_iterations):
            self.optimizers["discriminators"].zero_grad(set_to_none=True)
            with ctx.autocast():
                parts = {}
                for name, d, real, fake in (("B", self.parallel["D_B"], b, pooled_b),
                                            ("A", self.parallel["D_A"], a, pooled_a)):
                    real_scores, fake_scores = d(torch.cat([real, fake.to(real.dtype)])).float().chunk(2)
                    parts[name] = 0.5 * (self.adversarial(real_scores, True) + self.adversarial(fake_scores, False))
                loss_d = parts["A"] + parts["B"]
            ctx.update(self.optimizers["discriminators"], loss_d)
        values["loss_D"] = loss_d.item()
        values.update({f"loss_D_{k}": v.item() for k, v in parts.items()})
        return values

    def summary(self, values: dict[str, float]) -> str:
        return (f"G {values['loss_G']:.3f} D {values['loss_D']:.3f} cycle "
                f"{values['loss_G_cycle_ABA'] + values['loss_G_cycle_BAB']:.3f}")


OBJECTIVE = CycleGANObjective
