"""What the training loop hands an objective: the device, mixed precision, DDP wrapping and an optimizer
factory, so an objective states its networks and losses and nothing about where or how they run."""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .distributed import Context


class TrainContext:
    """One process's training resources. ``amp``: mixed precision on CUDA (bf16 where supported, else fp16
    with loss scaling); elsewhere everything runs in fp32."""

    def __init__(self, process: Context, amp: bool = True) -> None:
        self.process = process
        self.device = process.device
        self.amp_dtype = None
        if amp and self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self._scalers: dict[int, torch.amp.GradScaler] = {}

    @property
    def main(self) -> bool:
        return self.process.main

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def parallel(self, module: nn.Module) -> nn.Module:
        """``module`` wrapped for data-parallel updates across processes (itself in a single process)."""
        if not self.process.active:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    @staticmethod
    def memory_format(spatial_dims: int) -> torch.memory_format:
        # 3D convolutions train about 3x faster on CPU with channels-last tensors (measured).
        return torch.channels_last_3d if spatial_dims == 3 else torch.contiguous_format

    def optimizer(self, parameters, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
        return torch.optim.Adam(parameters, lr=lr, betas=betas)

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` and step ``optimizer`` (loss-scaled under fp16)."""
        scaler = self._scalers.get(id(optimizer))
        if scaler is None:
            scaler = self._scalers[id(optimizer)] = torch.amp.GradScaler(
                "cuda", enabled=self.amp_dtype == torch.float16)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
