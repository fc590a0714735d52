"""Adversarial losses against hand-computed values, and their stability at extreme logits."""
import math

import pytest
import torch

from gankit.losses.adversarial import d_logistic, g_minimax, g_nonsaturating
from gankit.registry import LOSSES


def test_values_at_zero_logits_are_log2() -> None:
    zero = torch.zeros(5)
    assert d_logistic(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert g_nonsaturating(zero).item() == pytest.approx(math.log(2))
    assert g_minimax(zero).item() == pytest.approx(-math.log(2))


def test_matches_the_probability_form() -> None:
    real, fake = torch.tensor([1.5, -0.3]), torch.tensor([0.2, -2.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert d_logistic(real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert g_minimax(fake).item() == pytest.approx(torch.log(1 - d_fake).mean().item(), rel=1e-6)
    assert g_nonsaturating(fake).item() == pytest.approx(-torch.log(d_fake).mean().item(), rel=1e-6)


def test_finite_at_extreme_logits() -> None:
    big = torch.tensor([1e4, -1e4], requires_grad=True)
    for value in (d_logistic(big, big), g_minimax(big), g_nonsaturating(big)):
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(big.grad).all()
        big.grad = None


def test_minimax_saturates_where_nonsaturating_does_not() -> None:
    # D confidently rejects the fake (logit -10): the minimax gradient vanishes, the NS one does not.
    fake = torch.tensor([-10.0], requires_grad=True)
    g_minimax(fake).backward()
    minimax_grad = fake.grad.abs().item()
    fake.grad = None
    g_nonsaturating(fake).backward()
    assert minimax_grad < 1e-4 < fake.grad.abs().item()


def test_registered() -> None:
    assert {"ns", "minimax"} <= set(LOSSES.names())


def test_other_losses_against_hand_computed_values() -> None:
    from gankit.losses.adversarial import d_hinge, d_least_squares, d_wasserstein, g_least_squares, g_wasserstein

    assert d_wasserstein(torch.tensor([1.0, 2.0]), torch.tensor([0.0])).item() == pytest.approx(-1.5)
    assert g_wasserstein(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)
    # hinge: mean(relu(1 - [0.5, 2])) = 0.25, mean(relu(1 + [-2, 0])) = 0.5
    assert d_hinge(torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.0])).item() == pytest.approx(0.75)
    # LSGAN: 1/2 mean([0, 4]) + 1/2 mean([0, 4]) = 2;  G: 1/2 mean([0, 4]) = 1
    assert d_least_squares(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])).item() == pytest.approx(2.0)
    assert g_least_squares(torch.tensor([1.0, 3.0])).item() == pytest.approx(1.0)
    assert {"wgan", "hinge", "lsgan"} <= set(LOSSES.names())
    assert not LOSSES.get("wgan").probabilistic and LOSSES.get("ns").probabilistic
