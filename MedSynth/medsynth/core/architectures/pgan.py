"""pGAN's ResNet generator with Mirza et al.'s dense skips (seed 000)."""

from ..citations import DAR2019, MIRZA2022
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="pgan", role="generator", engine="slicewise", objective="paired",
        factory="medsynth.models.pgan:PGANGenerator", citations=(DAR2019, MIRZA2022),
        description="2D ResNet generator of pGAN, optional dense skips (seed 000)",
    ),
)
