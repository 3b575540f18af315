"""The terms unpaired objectives are built from: the Charbonnier penalty (seed 003), the KL of a unit-variance
latent code (UNIT), and CycleGAN's cycle and identity terms."""

from __future__ import annotations

import torch

from .voxel import mean_within


def charbonnier(difference: torch.Tensor, eps: float) -> torch.Tensor:
    """sqrt(d^2 + eps^2) per voxel: L1 away from zero, smooth at zero (seed 003's reconstruction penalty)."""
    return (difference.float().square() + eps**2).sqrt()


def latent_kl(mean: torch.Tensor) -> torch.Tensor:
    """The KL term of a code drawn as ``mean + N(0, 1)`` against N(0, 1), as UNIT takes it: mean(mean^2).

    KL(N(mu, 1) || N(0, 1)) is mu^2 / 2 per element; UNIT drops the 1/2 (it is in the weight)."""
    return mean.float().square().mean()


def cycle_and_identity(a: torch.Tensor, b: torch.Tensor, rec_a: torch.Tensor, rec_b: torch.Tensor,
                       lambda_aba: float, lambda_bab: float, lambda_identity: float = 0.0,
                       same_b: torch.Tensor | None = None, same_a: torch.Tensor | None = None,
                       masks: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None),
                       ) -> dict[str, torch.Tensor]:
    """CycleGAN's reconstruction terms. ``rec_a`` = G_BA(G_AB(a)), ``rec_b`` = G_AB(G_BA(b)); with
    ``lambda_identity``, ``same_b`` = G_AB(b) and ``same_a`` = G_BA(a), weighted as in the seed's code:
    lambda_identity * lambda_BAB for G_AB's, lambda_identity * lambda_ABA for G_BA's."""
    terms = {"cycle_ABA": lambda_aba * mean_within((rec_a.float() - a).abs(), masks[0]),
             "cycle_BAB": lambda_bab * mean_within((rec_b.float() - b).abs(), masks[1])}
    if lambda_identity:
        terms["idt_B"] = lambda_identity * lambda_bab * mean_within((same_b.float() - b).abs(), masks[1])
        terms["idt_A"] = lambda_identity * lambda_aba * mean_within((same_a.float() - a).abs(), masks[0])
    return terms
