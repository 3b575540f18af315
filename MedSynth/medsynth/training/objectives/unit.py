"""UNIT (Liu et al. 2017; seed 003): unpaired translation through a shared latent space.

Encoders E_A, E_B and generators G_A, G_B (``models.unit``; the encoders share their last block, the
generators their first), and discriminators D_A, D_B. With h = E(x) the latent mean and z = h + N(0, 1),
each step updates the encoders and generators on

    gan_w      (D_A(G_A(z_b)) and D_B(G_B(z_a)) judged real)
    recon_x_w  (|G_A(z_a) - a| + |G_B(z_b) - b|)                          within-domain reconstruction (VAE)
    recon_kl_w (mean h_a^2 + mean h_b^2)                                  KL of the unit-variance code
    recon_x_cyc_w  (|G_A(E_B(G_B(z_a)) + n) - a| + |G_B(E_A(G_A(z_b)) + n) - b|)            cycle
    recon_kl_cyc_w (KL of the cycle's codes)

then the discriminators on real images against the translated ones. The seed's improvements are settings
of the ``unit`` section: ``self_attention`` (encoder or generator), ``spectral_norm`` (any of encoder,
generator, discriminator) and ``charbonnier`` (sqrt(x^2 + eps^2) instead of |x| in every reconstruction).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...losses import AdversarialLoss, charbonnier, latent_kl
from ...models import build_model
from ...models.unit import translator_pair
from ..config import TrainConfig
from ..context import TrainContext
from .base import Batch, mean_within
from .unpaired import UnpairedObjective


class UNITObjective(UnpairedObjective):
    name = "unit"
    forward_name, reverse_name = "AB", "BA"
    reconstruction = "unit.recon_x_w and unit.recon_x_cyc_w"

    def __init__(self, config: TrainConfig, context: TrainContext) -> None:
        super().__init__(config, context)
        cfg, device = config, context.device
        ab, ba = translator_pair(**self.hyperparameters())
        self.networks = {"AB": ab.to(device), "BA": ba.to(device)}
        for domain, channels in (("D_B", 1), ("D_A", len(cfg.data.inputs))):
            self.networks[domain] = build_model(
                cfg.model.discriminator, in_channels=channels, **cfg.model.discriminator_hyperparameters,
                **({"spectral_norm": True} if "discriminator" in cfg.unit.spectral_norm else {})).to(device)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        shared = {id(p): p for net in (ab, ba) for p in net.parameters()}  # the shared blocks once
        discriminators = [*self.networks["D_A"].parameters(), *self.networks["D_B"].parameters()]
        self.optimizers = {"generators": context.optimizer(list(shared.values()), cfg.optim.lr, betas),
                           "discriminators": context.optimizer(discriminators, cfg.optim.lr, betas)}
        self.adversarial = AdversarialLoss(cfg.loss.adversarial)
        # One DDP wrapper around both directions: the blocks they share are then synchronized once, not twice.
        self.translation = context.parallel(Translation(ab, ba))
        self.parallel = {k: context.parallel(self.networks[k]) for k in ("D_A", "D_B")}

    def hyperparameters(self) -> dict[str, Any]:
        u = self.config.unit
        return {**self.config.model.hyperparameters, "in_channels": self.config.in_channels, "out_channels": 1,
                "self_attention": u.self_attention,
                "spectral_norm": [part for part in u.spectral_norm if part != "discriminator"]}

    def reverse_hyperparameters(self) -> dict[str, Any]:
        return {**self.hyperparameters(), "in_channels": 1, "out_channels": self.config.in_channels}

    def train(self) -> None:
        for network in ("AB", "BA", "D_A", "D_B"):
            self.networks[network].train()

    def _reconstruction(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        u = self.config.unit
        difference = x.float() - y
        error = charbonnier(difference, u.charbonnier_eps) if u.charbonnier else difference.abs()
        return mean_within(error, mask)

    def step(self, batch: Batch) -> dict[str, float]:
        u, ctx = self.config.unit, self.context
        a, b = batch.source, batch.target
        mask_a, mask_b = (batch.mask, batch.target_mask) if self.config.loss.masked else (None, None)
        d_a, d_b = self.networks["D_A"], self.networks["D_B"]
        d_a.requires_grad_(False)
        d_b.requires_grad_(False)
        self.optimizers["generators"].zero_grad(set_to_none=True)
        with ctx.autocast():
            h_a, h_b, x_ab, x_ba, h_a_cycle, h_b_cycle, x_aba, x_bab, x_aa, x_bb = self.translation(a, b)
            terms = {
                "adv": u.gan_w * (self.adversarial(d_a(x_ba).float(), True)
                                  + self.adversarial(d_b(x_ab).float(), True)),
                "recon": u.recon_x_w * (self._reconstruction(x_aa, a, mask_a)
                                        + self._reconstruction(x_bb, b, mask_b)),
                "kl": u.recon_kl_w * (latent_kl(h_a) + latent_kl(h_b)),
                "cycle": u.recon_x_cyc_w * (self._reconstruction(x_aba, a, mask_a)
                                            + self._reconstruction(x_bab, b, mask_b)),
                "kl_cycle": u.recon_kl_cyc_w * (latent_kl(h_a_cycle) + latent_kl(h_b_cycle)),
            }
            loss_g = sum(terms.values())
        ctx.update(self.optimizers["generators"], loss_g)
        d_a.requires_grad_(True)
        d_b.requires_grad_(True)
        self.optimizers["discriminators"].zero_grad(set_to_none=True)
        with ctx.autocast():
            parts = {}
            for name, d, real, fake in (("A", self.parallel["D_A"], a, x_ba.detach()),
                                        ("B", self.parallel["D_B"], b, x_ab.detach())):
                real_scores, fake_scores = d(torch.cat([real, fake.to(real.dtype)])).float().chunk(2)
                parts[name] = self.adversarial(real_scores, True) + self.adversarial(fake_scores, False)
            loss_d = u.gan_w * (parts["A"] + parts["B"])
        ctx.update(self.optimizers["discriminators"], loss_d)
        return {"loss_G": loss_g.item(), **{f"loss_G_{k}": v.item() for k, v in terms.items()},
                "loss_D": loss_d.item(), **{f"loss_D_{k}": v.item() for k, v in parts.items()}}

    def summary(self, values: dict[str, float]) -> str:
        return f"G {values['loss_G']:.3f} D {values['loss_D']:.3f} cycle {values['loss_G_cycle']:.3f}"


class Translation(nn.Module):
    """Both directions' forward pass of one UNIT step, as one module, so that one DDP wrapper covers the
    encoders and generators (whose shared blocks appear once in its parameters)."""

    def __init__(self, ab: nn.Module, ba: nn.Module) -> None:
        super().__init__()
        self.ab, self.ba = ab, ba

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        e_a, g_b, e_b, g_a = self.ab.encoder, self.ab.generator, self.ba.encoder, self.ba.generator
        h_a, h_b = e_a(a), e_b(b)
        z_a, z_b = h_a + torch.randn_like(h_a), h_b + torch.randn_like(h_b)
        x_ab, x_ba = g_b(z_a), g_a(z_b)
        h_a_cycle, h_b_cycle = e_b(x_ab), e_a(x_ba)
        x_aba = g_a(h_a_cycle + torch.randn_like(h_a_cycle))
        x_bab = g_b(h_b_cycle + torch.randn_like(h_b_cycle))
        return h_a, h_b, x_ab, x_ba, h_a_cycle, h_b_cycle, x_aba, x_bab, g_a(z_a), g_b(z_b)


OBJECTIVE = UNITObjective
