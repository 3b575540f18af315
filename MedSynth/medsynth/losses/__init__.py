"""Training losses: voxel (L1, L2), adversarial (BCE, least squares), gradient difference, perceptual."""

from .adversarial import AdversarialLoss
from .gradient import gradient_difference_loss
from .perceptual import PerceptualLoss, VGG16Features

__all__ = ["AdversarialLoss", "PerceptualLoss", "VGG16Features", "gradient_difference_loss"]
