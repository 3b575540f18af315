"""CycleGAN's pool of earlier synthetic images (Shrivastava et al.), as a module so that its contents
are part of the saved training state and a resumed run draws exactly what it would have drawn."""

from __future__ import annotations

import torch
from torch import nn


class SyntheticPool(nn.Module):
    """Holds up to ``size`` synthetic images. :meth:`draw` returns, for each image of a batch, either that
    image or (once the pool is full, with probability 1/2) a stored earlier one, which the new image then
    replaces. Random draws come from torch's global generator (seeded per epoch by the loop)."""

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros((size, *shape)))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def draw(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach().to(self.images.dtype):
            n = int(self.count)
            if n < self.size:
                self.images[n] = image
                self.count += 1
                out.append(image)
            elif torch.rand(()) < 0.5:
                k = int(torch.randint(self.size, ()))
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out).to(batch.dtype)
