"""CycleGAN (seed 004): ResNet generators trained on unpaired data with cycle consistency.

The exported model is the source -> target generator, a pix2pix ResNet (``pgan`` with no dense skips);
training also leaves the target -> source generator beside it. The recipe is Zhu et al.'s: least-squares
adversarial loss, batches of one 256 x 256 slice, no 2.5D context (the cycle needs whole slices back).
"""

from ..citations import ZHU2017
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="cyclegan", role="generator", engine="slicewise", objective="cyclegan",
        factory="medsynth.models.pgan:PGANGenerator", citations=(ZHU2017,),
        recipe={"loss": {"adversarial": "lsgan"}, "optim": {"batch_size": 1}, "data": {"size": 256}},
        description="2D ResNet generator trained unpaired with cycle consistency (CycleGAN, seed 004)",
    ),
)
