"""Training losses: voxel (L1, L2, inside the head), adversarial (BCE, least squares), gradient difference,
perceptual, and the unpaired objectives' terms (Charbonnier, latent KL, cycle and identity)."""

from .adversarial import AdversarialLoss
from .gradient import gradient_difference_loss
from .perceptual import PerceptualLoss, VGG16Features
from .unpaired import charbonnier, cycle_and_identity, latent_kl
from .voxel import mean_within

__all__ = ["AdversarialLoss", "PerceptualLoss", "VGG16Features", "charbonnier", "cycle_and_identity",
           "gradient_difference_loss", "latent_kl", "mean_within"]
