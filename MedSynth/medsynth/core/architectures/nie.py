"""Nie et al. 2018's 3D generator, its auto-context cascade and its 3D discriminator (seeds 001/002).

The 3D generators bring the paper's recipe: the discriminator ending in a sigmoid, D loss
BCE(D(Y), 1) + BCE(D(G(X)), 0) (not halved), G loss 0.5 x adversarial + 1 x L2 + 1 x gradient difference,
mini-batches of 7 patches, and no rotation, scaling or shift (2D slice augmentations).
"""

from ..citations import NIE2018
from . import Architecture

RECIPE = {
    "model": {"discriminator": "nie_discriminator"},
    "loss": {"adversarial": "bce_probabilities", "adversarial_weight": 0.5, "l1": 0.0, "l2": 1.0, "gdl": 1.0,
             "gdl_power": 2.0, "discriminator_factor": 1.0},
    "optim": {"batch_size": 7},
    "augment": {"rotate": 0.0, "scale": 0.0, "shift": 0.0},
}

ARCHITECTURES = (
    Architecture(
        name="nie", role="generator", engine="patchwise", objective="paired", recipe=RECIPE,
        factory="medsynth.models.nie:NieGenerator", citations=(NIE2018,),
        description="3D dilated fully convolutional generator of Nie et al. (seed 002)",
    ),
    Architecture(
        name="nie_cascade", role="generator", engine="patchwise", objective="paired", recipe=RECIPE,
        factory="medsynth.models.nie:AutoContextCascade", citations=(NIE2018,),
        description="3D auto-context cascade of Nie et al., trained stage by stage (seed 001)",
    ),
    Architecture(
        name="nie_discriminator", role="discriminator", engine="patchwise",
        factory="medsynth.models.nie:NieDiscriminator", citations=(NIE2018,),
        description="3D conditional discriminator of Nie et al., ending in a sigmoid",
    ),
)
