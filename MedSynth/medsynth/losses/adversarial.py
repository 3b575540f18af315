"""GAN objectives on discriminator logits: BCE (vanilla GAN) or least squares (LSGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("bce", "lsgan")


class AdversarialLoss(nn.Module):
    """``loss(logits, real)``: how far ``logits`` are from saying "real" (``True``) or "synthetic".

    ``bce`` applies the sigmoid itself (numerically stable); ``lsgan`` is the squared distance of the raw
    score to 1 or 0 (Mao et al.), as pix2pix/CycleGAN's ``--gan_mode lsgan``. Discriminators whose last
    layer is already a sigmoid (Nie et al.) use ``bce_probabilities``.
    """

    def __init__(self, mode: str = "bce") -> None:
        super().__init__()
        if mode not in (*MODES, "bce_probabilities"):
            raise ValueError(f"adversarial loss must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode

    def forward(self, scores: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.full_like(scores, 1.0 if real else 0.0)
        if self.mode == "bce":
            return F.binary_cross_entropy_with_logits(scores, target)
        if self.mode == "bce_probabilities":
            return F.binary_cross_entropy(scores.float().clamp(1e-7, 1 - 1e-7), target.float())
        return F.mse_loss(scores, target)
