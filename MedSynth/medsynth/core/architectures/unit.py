"""UNIT (seed 003): encoders and generators sharing a latent space, trained unpaired; with the seed's
self-attention, spectral normalization and Charbonnier switches (the ``unit`` configuration section)."""

from ..citations import LIU2017, ZHANG2019
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="unit", role="generator", engine="slicewise", objective="unit",
        factory="medsynth.models.unit:UNITTranslator", citations=(LIU2017, ZHANG2019),
        recipe={"loss": {"adversarial": "lsgan"}, "optim": {"lr": 1e-4, "beta1": 0.5, "beta2": 0.999,
                                                             "batch_size": 1}},
        description="2D UNIT translator (shared-latent VAE-GAN) trained unpaired, with self-attention, spectral "
                    "normalization and Charbonnier switches (seed 003)",
    ),
)
