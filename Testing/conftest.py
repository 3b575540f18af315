"""Shared fixtures: small phantom volumes and tiny real networks (no test depends on ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from medsynth import intensity
from medsynth.card import ModelCard
from medsynth.checkpoint import LoadedModel, save_model
from medsynth.models import build_model
from medsynth.phantom import make_subject, phantom_grid

SMALL_SHAPE = (48, 56, 40)


@pytest.fixture(scope="session")
def subject():
    """One small paired phantom subject (T1, T2, PD, CT) with a lesion."""
    return make_subject(phantom_grid(SMALL_SHAPE), seed=7, index=0, contrasts=("T1", "T2", "PD", "CT"),
                        lesion_probability=1.0)


def conv_card(spatial_dims: int, hyper: dict, name: str = "tiny", **inference) -> ModelCard:
    return ModelCard(
        name=name, architecture="convnet", hyperparameters=hyper, spatial_dims=spatial_dims,
        source_contrast="T1", target_contrast="T2",
        source_normalization=intensity.default_normalization("T1"),
        target_intensity={"kind": "minmax", "params": {"lo": 0.0, "hi": 800.0}, "background": 0.0},
        inference=inference,
    )


def tiny_convnet(spatial_dims: int = 2, in_channels: int = 1, seed: int = 0, **inference) -> LoadedModel:
    """A small real conv net with random weights (not the identity), receptive-field radius 2."""
    hyper = {"spatial_dims": spatial_dims, "in_channels": in_channels, "filters": [6, 1], "kernels": [3, 3],
             "norm": "none"}
    torch.manual_seed(seed)
    model = build_model("convnet", **hyper).eval()
    return LoadedModel(model, conv_card(spatial_dims, hyper, **inference))


@pytest.fixture
def tiny():
    """Factory of tiny real conv nets: ``tiny(spatial_dims=2, in_channels=1, seed=0, **card_inference)``."""
    return tiny_convnet


@pytest.fixture
def model_file(tmp_path):
    loaded = tiny_convnet(2)
    return save_model(loaded.model, loaded.card, tmp_path / "tiny.safetensors")


def assert_same_grid(a, b):
    assert a.array.shape == b.array.shape
    np.testing.assert_allclose(a.ijk_to_ras, b.ijk_to_ras, atol=1e-5)
