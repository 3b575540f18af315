"""pGAN generator (with and without dense skips), U-Net and PatchGAN: sizes, shapes, wiring."""

import pytest
import torch
from medsynth.core.errors import ModelError
from medsynth.models import architecture_names, build_model
from medsynth.models.pgan import DenseBlockGroup


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_pgan_has_the_papers_size():
    # pix2pix resnet_9blocks with biases, 1 in / 1 out channel (seed 000 builds on it)
    assert n_params(build_model("pgan", ngf=64, n_blocks=9)) == 11_365_633


def test_dense_skips_zero_is_exactly_the_plain_generator():
    torch.manual_seed(0)
    plain = build_model("pgan", ngf=8, n_blocks=3)
    torch.manual_seed(0)
    dense0 = build_model("pgan", ngf=8, n_blocks=3, dense_blocks=0)
    assert plain.state_dict().keys() == dense0.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(value, dense0.state_dict()[key])
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(plain(x), dense0(x))


def test_dense_skips_connect_only_the_last_blocks():
    model = build_model("pgan", ngf=8, n_blocks=5, dense_blocks=3)
    groups = [m for m in model.modules() if isinstance(m, DenseBlockGroup)]
    assert len(groups) == 1 and len(groups[0].blocks) == 3
    # transitions take 2, 3 and 4 concatenated feature maps of width 4 * ngf
    assert [t.in_channels for t in groups[0].transitions] == [64, 96, 128]
    base = n_params(build_model("pgan", ngf=8, n_blocks=5))
    assert n_params(model) == base + sum(c * 32 + 32 for c in (64, 96, 128))


def test_dense_skips_route_gradients_from_early_dense_blocks_to_the_output():
    model = build_model("pgan", ngf=4, n_blocks=3, dense_blocks=3)
    group = next(m for m in model.modules() if isinstance(m, DenseBlockGroup))
    model(torch.randn(1, 1, 16, 16)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in group.blocks[0].parameters())


@pytest.mark.parametrize("size", [32, 36, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_pgan_keeps_the_slice_size_for_multiples_of_four(size, channels):
    model = build_model("pgan", in_channels=channels, ngf=4, n_blocks=2, dense_blocks=1)
    y = model(torch.randn(2, channels, size, size))
    assert y.shape == (2, 1, size, size)
    assert y.abs().max() <= 1  # tanh output
    assert model.size_divisor == 4


def test_unet_shapes_and_divisor():
    model = build_model("unet", ngf=4, num_downs=6)
    assert model.size_divisor == 64
    assert model(torch.randn(2, 1, 64, 128)).shape == (2, 1, 64, 128)
    assert n_params(build_model("unet")) == 54_413_313  # pix2pix unet_256, 1 in / 1 out channel


def test_patchgan_scores_70x70_patches():
    d = build_model("patchgan", in_channels=2)
    assert d(torch.randn(1, 2, 256, 256)).shape == (1, 1, 30, 30)  # pix2pix's 70x70 PatchGAN on 256^2
    conv = d.net[0]
    with torch.no_grad():
        assert abs(conv.weight.std().item() - 0.02) < 0.005 and conv.bias.abs().max().item() == 0  # N(0, 0.02)


def test_discriminators_are_not_offered_as_generators():
    assert "patchgan" not in architecture_names()
    assert "patchgan" in architecture_names("discriminator")
    assert {"pgan", "unet"} <= set(architecture_names())


def test_bad_hyperparameters_are_clear():
    with pytest.raises(ModelError, match="dense_blocks must be between 0 and n_blocks"):
        build_model("pgan", n_blocks=3, dense_blocks=4)
    with pytest.raises(ModelError, match="do not fit architecture 'pgan'"):
        build_model("pgan", width=3)
