"""Perceptual loss on VGG16 features (pGAN, seed 000), with ImageNet weights from a file the user gives.

torchvision is not a dependency, so the VGG16 convolutional trunk is defined here with torchvision's
layer indices: a torchvision ``vgg16`` state dict (``features.N.weight`` / ``.bias``; classifier keys are
ignored) loads into it unchanged. The file is read with ``torch.load(weights_only=True)``, which refuses
anything but tensors, or from safetensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ConfigError

# torchvision's vgg16 "D" configuration: channels, or "M" for max pooling.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
# Index of the ReLU after which each named feature map is taken (torchvision numbering).
VGG16_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """VGG16's ``features`` trunk up to ``last_layer`` (frozen, eval mode)."""

    def __init__(self, last_layer: str = "relu2_2") -> None:
        super().__init__()
        if last_layer not in VGG16_LAYERS:
            raise ConfigError(f"unknown VGG16 layer '{last_layer}'; choose one of {', '.join(VGG16_LAYERS)}")
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers[: VGG16_LAYERS[last_layer] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def load_weights(self, path: str | Path) -> VGG16Features:
        """Load a torchvision vgg16 state dict (``.pth`` via ``weights_only=True``, or ``.safetensors``)."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: VGG16 weights file not found")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(f"{path}: cannot read VGG16 weights as tensors only ({exc})") from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise ConfigError(f"{path}: expected a vgg16 state dict, got {type(state).__name__}")
        ours = self.features.state_dict()
        wanted = {f"features.{k}": k for k in ours}
        missing = sorted(k for k in wanted if k not in state)
        if missing:
            raise ConfigError(f"{path}: not a torchvision vgg16 state dict (missing {', '.join(missing[:3])})")
        for full, key in wanted.items():
            if tuple(state[full].shape) != tuple(ours[key].shape):
                raise ConfigError(f"{path}: {full} has shape {tuple(state[full].shape)}, vgg16 needs "
                                  f"{tuple(ours[key].shape)}")
        self.features.load_state_dict({key: state[full].float() for full, key in wanted.items()})
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, 1 or 3, H, W)`` in [-1, 1]; grey images are repeated to three channels."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = ((x + 1.0) * 0.5 - self.mean) / self.std
        return self.features(x)


class PerceptualLoss(nn.Module):
    """L1 distance between VGG16 feature maps of the synthetic and the real image."""

    def __init__(self, weights: str | Path | None, last_layer: str = "relu2_2") -> None:
        super().__init__()
        if not weights:
            raise ConfigError(
                "the perceptual loss needs ImageNet VGG16 weights, which MedSynth cannot download: give a "
                "torchvision vgg16 state dict file (e.g. vgg16-397923af.pth) with `vgg_weights`, or set the "
                "perceptual loss weight to 0"
            )
        self.vgg = VGG16Features(last_layer).load_weights(weights)

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.vgg.eval()  # the feature extractor is frozen whatever the trainer's mode
        return self

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(self.vgg(prediction), self.vgg(target))
