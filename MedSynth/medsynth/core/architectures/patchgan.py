"""pix2pix's PatchGAN discriminator."""

from ..citations import ISOLA2017
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="patchgan", role="discriminator", engine="slicewise",
        factory="medsynth.models.patchgan:PatchGANDiscriminator", citations=(ISOLA2017,),
        description="2D PatchGAN discriminator (70x70 receptive field with 3 layers)",
    ),
)
