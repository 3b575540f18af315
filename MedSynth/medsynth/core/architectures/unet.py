"""pix2pix's U-Net generator."""

from ..citations import ISOLA2017, RONNEBERGER2015
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="unet", role="generator", engine="slicewise", objective="paired",
        factory="medsynth.models.unet:UNetGenerator", citations=(RONNEBERGER2015, ISOLA2017),
        description="2D U-Net generator of pix2pix",
    ),
)
