"""The input's intensity transfer function changed as another protocol would change it: the members of the
``intensity`` test-time ensemble behind an uncertainty map.

Each member re-maps the normalized input through a random monotone curve (MONAI's ``RandHistogramShift``
with 4-8 ordered control points over the volume's range: tissue order kept, contrast between tissues
changed), the perturbation the scanner simulation of training draws. Where the model learned to ignore
such changes the members agree; where its output depends on exact intensities (tissue it has not learned
to map, another site's contrast) they do not. Seeds are fixed, so a map is reproducible.
"""

from __future__ import annotations

import numpy as np
from monai.transforms import RandHistogramShift

CURVES_PER_PLANE = 2  # perturbed members next to each plane's plain one


def perturbed(x: np.ndarray, seed: int) -> np.ndarray:
    """``x`` (a normalized volume, or several stacked along the first axis) through the monotone curve drawn
    with ``seed`` (each stacked input through its own); float32."""
    if x.ndim == 4:
        return np.stack([perturbed(part, seed + 1000 * number) for number, part in enumerate(x)])
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return np.asarray(x, dtype=np.float32)
    shift = RandHistogramShift(num_control_points=(4, 8), prob=1.0).set_random_state(seed=seed)
    unit = (np.asarray(x, dtype=np.float32) - lo) / (hi - lo)
    curved = np.clip(np.asarray(shift(unit), dtype=np.float32), 0.0, 1.0)
    return curved * np.float32(hi - lo) + np.float32(lo)
