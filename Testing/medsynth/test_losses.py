"""Losses: gradient difference, Charbonnier, latent KL, cycle and identity against hand-computed values,
adversarial targets, VGG16 perceptual."""

import pytest
import torch
from medsynth.core.errors import ConfigError
from medsynth.losses import (
    AdversarialLoss,
    PerceptualLoss,
    VGG16Features,
    charbonnier,
    cycle_and_identity,
    gradient_difference_loss,
    latent_kl,
)


def test_gdl_2d_matches_a_hand_computed_example():
    p = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    t = torch.tensor([[[[0.0, 3.0], [1.0, 1.0]]]])
    # rows (axis H): |dp| = [2, 3], |dt| = [1, 2] -> diffs 1, 1 -> mean 1
    # cols (axis W): |dp| = [1, 2], |dt| = [3, 0] -> diffs 2, 2 -> mean of squares 4
    assert gradient_difference_loss(p, t, power=2.0).item() == pytest.approx(5.0)
    assert gradient_difference_loss(p, t, power=1.0).item() == pytest.approx(3.0)


def test_gdl_3d_sums_three_axes_and_is_zero_for_shifted_intensity():
    t = torch.zeros(1, 1, 3, 3, 3)
    t[0, 0, 1, 1, 1] = 1.0  # each axis has 2 differences of magnitude 1 out of 3*3*2 = 18
    p = torch.zeros_like(t)
    assert gradient_difference_loss(p, t).item() == pytest.approx(3 * 2 / 18)
    assert gradient_difference_loss(t + 5.0, t).item() == 0.0  # a constant offset has the same gradients


def test_gdl_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_difference_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


@pytest.mark.parametrize("mode", ["bce", "lsgan"])
def test_adversarial_loss_prefers_the_right_label(mode):
    loss = AdversarialLoss(mode)
    confident_real = torch.full((2, 1, 4, 4), 3.0 if mode == "bce" else 1.0)
    assert loss(confident_real, True) < loss(confident_real, False)
    if mode == "lsgan":
        assert loss(confident_real, True).item() == 0.0


def test_perceptual_loss_without_weights_says_what_to_do():
    with pytest.raises(ConfigError, match="VGG16 weights"):
        PerceptualLoss(None)


def torchvision_like_vgg16_state(seed=0):
    """What torchvision's vgg16().state_dict() holds: features.N and classifier.N tensors."""
    torch.manual_seed(seed)
    vgg = VGG16Features("relu5_3")
    state = {f"features.{k}": v for k, v in vgg.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # ignored
    return state


def test_perceptual_loss_loads_a_torchvision_state_dict_safely(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(torchvision_like_vgg16_state(), path)
    loss = PerceptualLoss(path, "relu2_2")
    assert all(not p.requires_grad for p in loss.parameters())
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0
    y = x.clone().requires_grad_(True)
    value = loss(y, torch.flip(x, (-1,)))
    value.backward()
    assert value.item() > 0 and y.grad is not None
    loss.train()
    assert not loss.vgg.training


def test_perceptual_loss_refuses_wrong_files(tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3)}, bad)
    with pytest.raises(ConfigError, match="not a torchvision vgg16 state dict"):
        PerceptualLoss(bad)
    pickle = tmp_path / "evil.pth"
    torch.save({"features.0.weight": object()}, pickle)  # needs full unpickling
    with pytest.raises(ConfigError, match="tensors only"):
        PerceptualLoss(pickle)


def test_charbonnier_matches_hand_computed_values_and_tends_to_l1():
    difference = torch.tensor([0.0, 3.0, -4.0])
    torch.testing.assert_close(charbonnier(difference, 4.0), torch.tensor([4.0, 5.0, 32.0**0.5]))
    torch.testing.assert_close(charbonnier(difference, 1e-6), difference.abs())


def test_latent_kl_is_the_mean_square_of_the_code():
    assert float(latent_kl(torch.tensor([[1.0, 2.0], [3.0, 0.0]]))) == pytest.approx(3.5)
    assert float(latent_kl(torch.zeros(2, 8, 4, 4))) == 0.0


def test_cycle_and_identity_terms_match_hand_computed_values():
    a, b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    rec_a = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    head = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    terms = cycle_and_identity(a, b, rec_a, 3 * b, 10.0, 5.0, masks=(head, None))
    assert set(terms) == {"cycle_ABA", "cycle_BAB"}  # no identity terms without lambda_identity
    assert float(terms["cycle_ABA"]) == pytest.approx(10.0 * (1 + 4) / 2)  # inside the head only
    assert float(terms["cycle_BAB"]) == pytest.approx(5.0 * 2)
    terms = cycle_and_identity(a, b, rec_a, 3 * b, 10.0, 5.0, 0.5, same_b=b + 1, same_a=a + 0.25)
    assert float(terms["idt_B"]) == pytest.approx(0.5 * 5.0 * 1.0)  # G_AB's identity weighs with lambda_BAB
    assert float(terms["idt_A"]) == pytest.approx(0.5 * 10.0 * 0.25)  # G_BA's with lambda_ABA
