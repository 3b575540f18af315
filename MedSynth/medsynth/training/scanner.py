"""Simulated scanner and protocol changes for the source image: what makes a model trained on a few
subjects from a few sites hold up on another site's images.

Each sample may get a random monotone intensity curve (MONAI's ``RandHistogramShift``: the image's range
is re-mapped through 4-8 random, ordered control points, so tissue order is kept but contrast between
tissues changes as between protocols) and a smooth multiplicative bias field (MONAI's ``RandBiasField``,
degree-3 Legendre polynomials: coil shading). Both work on the sample's own range mapped to [0, 1] and
mapped back, and all draws come from a seed taken from the trainer's per-sample generator, so a resumed
run replays them exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.transforms import Compose, RandBiasField, RandHistogramShift

from .config import AugmentConfig


def simulate_scanner(source: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """``source`` ``(N, C, ...)`` with each sample's appearance changed as ``config.curve`` and
    ``config.bias_field`` say (unchanged where both are 0)."""
    if config.curve <= 0 and config.bias_field <= 0:
        return source
    seeds = torch.randint(0, 2**31 - 1, (len(source),), generator=generator).tolist()
    out = []
    for sample, seed in zip(source, seeds, strict=True):
        transforms = []
        if config.curve > 0:
            transforms.append(RandHistogramShift(num_control_points=(4, 8), prob=config.curve))
        if config.bias_field > 0:
            transforms.append(RandBiasField(degree=3, coeff_range=(0.0, config.bias_field), prob=0.5))
        chain = Compose(transforms).set_random_state(seed=seed)
        lo, hi = sample.min(), sample.max()
        if hi <= lo:
            out.append(sample)
            continue
        unit = ((sample - lo) / (hi - lo)).numpy()
        changed = np.asarray(chain(unit), dtype=np.float32)
        changed = np.clip(changed, 0.0, 1.0)  # a bias field may brighten past the range; keep the range
        out.append(torch.from_numpy(changed) * (hi - lo) + lo)
    return torch.stack(out)
