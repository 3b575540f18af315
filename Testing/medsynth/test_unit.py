"""UNIT (seed 003): the shared latent space, the seed's three switches, and unpaired training end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from medsynth.checkpoint import load_model
from medsynth.core.errors import Cancelled
from medsynth.core.progress import CancelToken
from medsynth.inference import synthesize
from medsynth.io import read_volume
from medsynth.models import build_model
from medsynth.models.unit import SelfAttention, translator_pair
from medsynth.phantom import write_phantom_dataset
from medsynth.training import Trainer, load_config, train
from safetensors import safe_open
from torch.nn.utils import parametrize
from torchrun_train import train_two_processes

SMALL = {"ngf": 4, "n_res": 2, "n_downsample": 2}


def test_the_two_directions_share_the_latent_blocks_and_nothing_else():
    ab, ba = translator_pair(**SMALL)
    assert ab.encoder.shared is ba.encoder.shared and ab.generator.shared is ba.generator.shared
    assert ab.encoder.private is not ba.encoder.private and ab.generator.private is not ba.generator.private
    x = torch.randn(2, 1, 32, 32)
    assert ab(x).shape == (2, 1, 32, 32) and ab.size_divisor == 4 and ab.in_channels == 1


def test_self_attention_starts_as_the_identity_and_attends_over_every_position():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 6, 5)
    torch.testing.assert_close(block(x), x)  # gamma = 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    x2 = x.clone()
    x2[:, :, 0, 0] += 1.0  # one position changes: every output position sees it
    assert (block(x2) - y)[:, :, 5, 4].abs().sum() > 0


def test_spectral_normalization_where_asked_and_rebuilt_from_the_card():
    net = build_model("unit", **SMALL, self_attention="encoder", spectral_norm=["generator"])
    convs = [m for m in net.generator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert not any(parametrize.is_parametrized(m, "weight") for m in net.encoder.modules()
                   if isinstance(m, torch.nn.Conv2d))
    assert any(isinstance(m, SelfAttention) for m in net.encoder.modules())
    d = build_model("patchgan", in_channels=1, ndf=4, n_layers=2, spectral_norm=True)
    assert all(parametrize.is_parametrized(m, "weight") for m in d.modules() if isinstance(m, torch.nn.Conv2d))
    with pytest.raises(Exception, match="self_attention must be one of none, encoder, generator"):
        build_model("unit", self_attention="decoder")


def state_tensors(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def test_unit_with_all_three_improvements_trains_resumes_exactly_and_synthesizes(tmp_path):
    data = tmp_path / "data"
    write_phantom_dataset(data, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    settings = {"model.architecture": "unit", "model.hyperparameters": SMALL, "data.root": str(data),
                "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2}, "data.size": 48,
                "data.spacing": 6.0, "optim.slices_per_epoch": 3, "optim.epochs": 2, "device": "cpu",
                "unit.self_attention": "encoder", "unit.spectral_norm": ["encoder", "generator", "discriminator"],
                "unit.charbonnier": True, "data.validation": 0.25, "data.test": 0.25}
    full = train(load_config(overrides={**settings, "output": str(tmp_path / "full")}))
    cfg = load_config(overrides={**settings, "output": str(tmp_path / "cut")})
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        Trainer(cfg, cancel=cancel, epoch_callback=lambda row: cancel.cancel()).run()
    train(cfg, resume=True)
    a, b = state_tensors(tmp_path / "full" / "state.safetensors"), state_tensors(tmp_path / "cut" / "state.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
    torch.testing.assert_close(a["net.AB.encoder.shared.block.1.bias"], a["net.BA.encoder.shared.block.1.bias"])
    card = load_model(full).card
    assert (card.architecture, card.mapping, card.training["best_epoch_by"]) == ("unit", "T1->T2", "validation PSNR")
    assert card.hyperparameters["spectral_norm"] == ["encoder", "generator"]
    assert card.hyperparameters["self_attention"] == "encoder" and np.isfinite(card.metrics["test"]["ssim_3d"])
    assert card.training["unit"]["charbonnier"] is True and "cyclegan" not in card.training  # its own settings
    with (tmp_path / "full" / "history.csv").open() as f:
        header = f.readline().strip().split(",")
    assert {"loss_G_adv", "loss_G_recon", "loss_G_kl", "loss_G_cycle", "loss_G_kl_cycle", "loss_D_A"} <= set(header)
    reverse = load_model(tmp_path / "full" / "model-reverse.safetensors")
    assert reverse.card.mapping == "T2->T1"
    volume = read_volume(next(data.glob("*-T1.nii.gz")))
    out = synthesize(volume, load_model(full))
    assert out.array.shape == volume.array.shape and np.isfinite(out.array).all()


def test_unit_trains_under_torchrun_with_the_shared_blocks_synchronized_once(tmp_path):
    """gloo, two CPU processes: one DDP wrapper holds both directions, so the blocks they share are reduced
    once per step (two wrappers would reduce them twice and fail); the model trains and synthesizes."""
    data = tmp_path / "data"
    write_phantom_dataset(data, 3, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    settings = {"model.architecture": "unit", "model.hyperparameters": SMALL, "data.root": str(data),
                "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2}, "data.size": 48,
                "data.spacing": 6.0, "optim.slices_per_epoch": 4, "optim.epochs": 1, "device": "cpu",
                "unit.spectral_norm": ["encoder", "discriminator"], "data.validation": 0.0, "data.test": 0.34}
    train_two_processes(tmp_path / "ddp", settings)
    loaded = load_model(tmp_path / "ddp" / "model.safetensors")
    assert loaded.card.training["processes"] == 2 and loaded.card.architecture == "unit"
    volume = read_volume(next(data.glob("*-T1.nii.gz")))
    out = synthesize(volume, loaded)
    assert out.array.shape == volume.array.shape and np.isfinite(out.array).all()
