"""Shared fixtures: small phantom volumes and tiny real networks (no test depends on ../shared).

The suite also runs where torch is not installed (the Python 3.12 pass of ``bin/test``, Slicer's Python): test
modules that import torch, directly or through the package, are then not collected, and tests marked
``torch`` (they run a model, often in a child process) are skipped, each with the reason.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import medsynth  # noqa: F401 - imported first: pytest's importlib mode would else register Testing/medsynth as it
import pytest


def _load_helper(name: str):
    """A helper module of this folder, importable by the tests as ``name`` (the folder itself is not put on the
    path: its ``medsynth`` test folder would shadow the package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


loaded_by = _load_helper("source_imports").loaded_by
_load_helper("scripts_under_test")
_load_helper("torchrun_train")
TORCH = importlib.util.find_spec("torch") is not None
SMALL_SHAPE = (48, 56, 40)


def needs_torch(path: Path) -> bool:
    """Whether importing ``path`` imports torch (or MONAI), itself or through our modules it imports."""
    return any(name.split(".")[0] in ("torch", "monai") for name in loaded_by(path))


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if not TORCH and collection_path.suffix == ".py" and needs_torch(collection_path):
        return True
    return None


def pytest_collection_modifyitems(config, items) -> None:
    if TORCH:
        return
    skip = pytest.mark.skip(reason=f"needs torch, which this Python ({sys.version.split()[0]}) does not have")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def medsynth_home(tmp_path_factory, monkeypatch):
    """Every test gets its own, empty list of added models (``medsynth.core.user_models``), never the user's."""
    home = tmp_path_factory.mktemp("medsynth-home")
    monkeypatch.setenv("MEDSYNTH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def subject():
    """One small paired phantom subject (T1, T2, PD, CT) with a lesion."""
    from medsynth.phantom import make_subject, phantom_grid

    return make_subject(phantom_grid(SMALL_SHAPE), seed=7, index=0, contrasts=("T1", "T2", "PD", "CT"),
                        lesion_probability=1.0)


ENGINES = {2: "slicewise", 3: "patchwise"}


def conv_card(spatial_dims: int, hyper: dict, name: str = "tiny", **inference):
    from medsynth.core import intensity
    from medsynth.core.card import ModelCard

    return ModelCard(
        name=name, architecture="convnet", hyperparameters=hyper, engine=ENGINES[spatial_dims],
        source_contrast="T1", target_contrast="T2",
        source_normalization=intensity.default_normalization("T1"),
        target_intensity={"kind": "minmax", "params": {"lo": 0.0, "hi": 800.0}, "background": 0.0},
        inference=inference,
    )


def tiny_convnet(spatial_dims: int = 2, in_channels: int = 1, seed: int = 0, **inference):
    """A small real conv net with random weights (not the identity), receptive-field radius 2."""
    import torch
    from medsynth.checkpoint import LoadedModel
    from medsynth.models import build_model

    hyper = {"spatial_dims": spatial_dims, "in_channels": in_channels, "filters": [6, 1], "kernels": [3, 3],
             "norm": "none"}
    torch.manual_seed(seed)
    model = build_model("convnet", **hyper).eval()
    return LoadedModel(model, conv_card(spatial_dims, hyper, **inference))


@pytest.fixture
def tiny_card():
    """A tiny conv net's card, without torch: ``tiny_card(**card_inference)``."""
    hyper = {"spatial_dims": 2, "in_channels": 1, "filters": [6, 1], "kernels": [3, 3], "norm": "none"}
    return lambda **inference: conv_card(2, hyper, **inference)


@pytest.fixture
def tiny():
    """Factory of tiny real conv nets: ``tiny(spatial_dims=2, in_channels=1, seed=0, **card_inference)``."""
    return tiny_convnet


@pytest.fixture
def model_file(tmp_path):
    from medsynth.checkpoint import save_model

    loaded = tiny_convnet(2)
    return save_model(loaded.model, loaded.card, tmp_path / "tiny.safetensors")


def assert_same_grid(a, b):
    import numpy as np

    assert a.array.shape == b.array.shape
    np.testing.assert_allclose(a.ijk_to_ras, b.ijk_to_ras, atol=1e-5)
