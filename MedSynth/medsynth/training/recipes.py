"""Per-architecture training recipes: the settings a paper trained its network with.

The defaults of :mod:`config` are seed 000's pGAN recipe. Nie et al.'s 3D generators (seeds 001/002)
were trained differently, so choosing ``nie`` or ``nie_cascade`` brings their recipe: the 3D
discriminator ending in a sigmoid, D loss BCE(D(Y), 1) + BCE(D(G(X)), 0) (not halved), G loss
0.5 x adversarial + 1 x L2 + 1 x gradient difference, mini-batches of 7 patches, and no rotation,
scaling or shift (2D slice augmentations). A configuration file or ``--set`` still overrides any of it.
"""

from __future__ import annotations

import copy
from typing import Any

NIE2018: dict[str, Any] = {
    "model": {"discriminator": "nie_discriminator"},
    "loss": {"adversarial": "bce_probabilities", "adversarial_weight": 0.5, "l1": 0.0, "l2": 1.0, "gdl": 1.0,
             "gdl_power": 2.0, "discriminator_factor": 1.0},
    "optim": {"batch_size": 7},
    "augment": {"rotate": 0.0, "scale": 0.0, "shift": 0.0},
}
RECIPES = {"nie": NIE2018, "nie_cascade": NIE2018}


def recipe_for(architecture: str | None) -> dict[str, Any]:
    """The settings ``architecture`` is trained with by default (``{}``: the global defaults)."""
    return copy.deepcopy(RECIPES.get(architecture or "", {}))
