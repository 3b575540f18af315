"""Nie et al.'s 3D generator and discriminator (seeds 001/002): sizes as the seeds report, shapes, wiring."""

import pytest
import torch
from medsynth.core.errors import ModelError
from medsynth.models import architecture_names, build_model


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def with_bn_statistics(model):
    return trainable(model) + sum(b.numel() for n, b in model.named_buffers() if "running" in n)


def test_generator_has_the_seeds_size():
    g = build_model("nie")
    assert trainable(g) == 3_638_592  # no convolution biases
    assert with_bn_statistics(g) == 3_639_296  # seed 002's Keras summary
    kernels = [m.kernel_size[0] for m in g.modules() if isinstance(m, torch.nn.Conv3d)]
    dilations = [m.dilation[0] for m in g.modules() if isinstance(m, torch.nn.Conv3d)]
    assert kernels == [9, 3, 3, 3, 9, 3, 3, 7, 3] and dilations == [1, 2, 2, 2, 2, 2, 2, 2, 1]


def test_discriminator_has_the_seeds_size():
    d = build_model("nie_discriminator")
    assert trainable(d) == 2_279_265
    assert with_bn_statistics(d) == 2_280_225
    assert d.classifier[1].in_features == 2048  # 2x2x2x256 after four poolings of a 32^3 patch
    assert "nie_discriminator" in architecture_names("discriminator")


@pytest.mark.parametrize("shape", [(16, 16, 16), (32, 32, 32), (20, 28, 36)])
def test_generator_is_fully_convolutional(shape):
    g = build_model("nie", filters=[4, 4, 1], kernels=[9, 3, 3], dilations=[1, 2, 1]).eval()
    assert g(torch.randn(2, 1, *shape)).shape == (2, 1, *shape)


def test_residual_learning_adds_the_source_patch():
    torch.manual_seed(0)
    plain = build_model("nie", filters=[4, 1], kernels=[3, 3], dilations=[1, 1]).eval()
    resgan = build_model("nie", filters=[4, 1], kernels=[3, 3], dilations=[1, 1], residual=True).eval()
    resgan.load_state_dict(plain.state_dict())
    x = torch.randn(1, 1, 8, 8, 8)
    torch.testing.assert_close(resgan(x), plain(x) + x)


def test_discriminator_scores_and_rejects_bad_patch_sizes():
    d = build_model("nie_discriminator", patch_size=16).eval()
    scores = d(torch.randn(3, 2, 16, 16, 16))
    assert scores.shape == (3, 1) and ((scores > 0) & (scores < 1)).all()  # sigmoid probabilities
    with pytest.raises(ModelError, match="patch_size must be a multiple of 16"):
        build_model("nie_discriminator", patch_size=24)


def test_auto_context_cascade_feeds_each_stage_the_source_and_the_previous_synthesis(tmp_path):
    from medsynth.checkpoint import load_model, save_model
    from medsynth.core.card import ModelCard

    small = {"filters": [4, 1], "kernels": [3, 3], "dilations": [1, 1]}
    torch.manual_seed(0)
    cascade = build_model("nie_cascade", stages=3, **small).eval()
    assert [s.net[0].in_channels for s in cascade.stages] == [1, 2, 2]
    x = torch.randn(1, 1, 8, 8, 8)
    with torch.no_grad():
        y1 = cascade.stages[0](x)
        y2 = cascade.stages[1](torch.cat([x, y1], 1))
        y3 = cascade.stages[2](torch.cat([x, y2], 1))
        torch.testing.assert_close(cascade(x, stages_to_run=2), y2)
        torch.testing.assert_close(cascade(x), y3)
    card = ModelCard(name="acm", architecture="nie_cascade", hyperparameters={"stages": 3, **small}, engine="patchwise",
                     source_contrast="PD", target_contrast="T2", source_normalization={"kind": "zscore"},
                     target_intensity={"kind": "zscore", "params": {"mean": 0.0, "std": 1.0}})
    path = save_model(cascade, card, tmp_path / "acm.safetensors")  # the whole chain in one file
    with torch.no_grad():
        torch.testing.assert_close(load_model(path).model(x), y3)
    # and the patch-wise engine runs the whole chain on a volume, keeping its grid
    from medsynth.inference import InferenceOptions, synthesize
    from medsynth.phantom import make_subject, phantom_grid

    pd = make_subject(phantom_grid((24, 24, 20)), seed=2, contrasts=("PD",)).images["PD"]
    out = synthesize(pd, load_model(path), InferenceOptions(patch_size=16, stride=8, device="cpu"))
    assert out.same_grid(pd) and torch.isfinite(torch.from_numpy(out.array)).all()
