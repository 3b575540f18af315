"""Random 3D training patches with a foreground bias (seeds 001/002: 32^3 patches of whole volumes).

Every draw comes from the generator the trainer passes in, seeded by (run seed, epoch, position), so an
epoch's patches are the same whether the run was interrupted or not and however many processes share it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.errors import InputError
from .data import PairedDraws, PairedSubject, window


class PatchDataset(PairedDraws):
    """``(source, target, mask)`` patches ``[1, p, p, p]`` drawn from whole subjects.

    With probability ``foreground_bias`` a patch is centred on a random head voxel, otherwise on any
    voxel; patches stay inside the volume where it is large enough, and are padded with the background
    value where it is not.
    """

    def __init__(self, subjects: list[PairedSubject], patch_size: int, foreground_bias: float) -> None:
        if not subjects:
            raise InputError("no training subject to draw patches from")
        self.subjects, self.patch_size, self.foreground_bias = subjects, patch_size, foreground_bias
        self.foreground = [np.flatnonzero(s.mask) for s in subjects]

    def __len__(self) -> int:
        return len(self.subjects)

    def epoch_items(self, rng: np.random.Generator, limit: int | None) -> np.ndarray:
        """The subject of each of this epoch's ``limit`` patches: every subject equally often."""
        count = limit or len(self.subjects)
        return rng.permutation(np.arange(count) % len(self.subjects))

    def subject(self, item: int) -> PairedSubject:
        return self.subjects[item]

    def sample(self, item: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """A random patch of subject ``item``; the draws come from ``generator`` only."""
        subject = self.subjects[item]
        shape = subject.target.shape
        u = torch.rand(4, generator=generator, dtype=torch.float64).numpy()
        if u[0] < self.foreground_bias:
            flat = self.foreground[item][min(int(u[1] * len(self.foreground[item])), len(self.foreground[item]) - 1)]
            centre = np.unravel_index(flat, shape)
        else:
            centre = tuple(min(int(v * n), n - 1) for v, n in zip(u[1:], shape, strict=True))
        p = self.patch_size
        starts = tuple(min(max(int(c) - p // 2, 0), max(n - p, 0)) if n >= p else (n - p) // 2
                       for c, n in zip(centre, shape, strict=True))
        source = window(subject.source if subject.source.ndim == 4 else subject.source[None], starts, p,
                        subject.source_fill)
        target = window(subject.target[None], starts, p, subject.target_fill)
        mask = window(subject.mask[None], starts, p, 0.0)
        return torch.from_numpy(source), torch.from_numpy(target), torch.from_numpy(mask)
