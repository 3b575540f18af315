"""Training recipes for real data: the generalization ingredients and the network the studies share.

(An architecture's paper recipe is declared with it, in ``medsynth.core.architectures``; ``config.recipe_for``.)
"""

from __future__ import annotations

import re
from typing import Any

# What makes a 2D model generalize from a few real subjects to other sites, ingredient by ingredient in the
# order scripts/study_recipes.py adds them (docs/results.md measures each); the bundled real-data models are
# trained with all of them.
GENERALIZATION: dict[str, dict[str, Any]] = {
    "seed000": {"data.normalization": "minmax"},
    "+percentile": {"data.normalization": "percentile"},
    "+scanner": {"augment.curve": 0.8, "augment.bias_field": 0.3, "augment.intensity": 0.3},
    "+masked": {"loss.masked": True},
    "+2.5D": {"data.context": 1},
    "+planes": {"data.plane": "all"},
}
# Ingredients measured on top of a recipe (scripts/study_recipes.py, e.g. "+planes+nyul"), not part of the
# bundled one unless docs/results.md shows they help on every unseen subject.
VARIANTS: dict[str, dict[str, Any]] = {
    "+nyul": {"data.normalization": "nyul"},  # Nyul histogram standardization of the input
    "+gdl": {"loss.gdl": 100.0, "loss.gdl_power": 1.0},  # edges: gradient differences weighted as L1
    "+adv": {"loss.adversarial_weight": 5.0},  # a five times stronger adversarial term
}
# The network and schedule the real-data study and the bundled real-data models share (sized for a 2-core CPU).
REAL_DATA_NETWORK: dict[str, Any] = {
    "model.architecture": "unet", "model.hyperparameters": {"ngf": 32, "num_downs": 6},
    "model.discriminator_hyperparameters": {"ndf": 32}, "model.calibrate_output": True,
    "data.size": 192, "optim.epochs": 8, "optim.slices_per_epoch": 400, "optim.batch_size": 4, "optim.lr": 2e-4,
    "validation.samples": False,
}


def generalization_recipe(name: str) -> dict[str, Any]:
    """Dotted overrides holding every ingredient of :data:`GENERALIZATION` up to and including the first
    step of ``name``; then ``-INGREDIENT`` leaves one out again (its settings go back to seed 000's: a
    leave-out ablation, e.g. ``"+planes-percentile-scanner"``) and ``+VARIANT`` adds one of :data:`VARIANTS`
    (e.g. ``"+planes+nyul"``)."""
    upto, *steps = re.findall(r"[+-]?[^+-]+", name) or [""]
    dropped = [s[1:] for s in steps if s.startswith("-")]
    added = [s for s in steps if s.startswith("+")]
    unknown = [f"-{d}" for d in dropped if f"+{d}" not in GENERALIZATION] + [a for a in added if a not in VARIANTS]
    if upto not in GENERALIZATION or unknown:
        raise KeyError(f"unknown recipe '{name}'; expected one of {', '.join(GENERALIZATION)}, optionally followed by "
                       f"-INGREDIENT to leave out (e.g. +planes-scanner) or a variant to add "
                       f"({', '.join(VARIANTS)}; e.g. +planes+nyul)")
    settings: dict[str, Any] = {}
    for step, ingredient in GENERALIZATION.items():
        settings.update(ingredient)
        if step == upto:
            break
    for ingredient in dropped:
        for key in GENERALIZATION[f"+{ingredient}"]:
            settings[key] = GENERALIZATION["seed000"].get(key, _default(key))
    for variant in added:
        settings.update(VARIANTS[variant])
    return settings


def _default(dotted: str) -> Any:
    """The configuration's default for ``section.key`` (seed 000's recipe)."""
    from .config import TrainConfig  # the configuration builds on recipes, not the other way round

    value: Any = TrainConfig()
    for part in dotted.split("."):
        value = getattr(value, part)
    return value
