"""Each D regulariser against a hand-computed case, and the Sinkhorn divergence's analytic values."""
from __future__ import annotations

import pytest
import torch

from gankit.losses.sinkhorn import sinkhorn_divergence
from gankit.registry import PENALTIES


def linear_critic(slope: float, dim: int = 3):
    """D(x) = w . x + 1 with |w| = slope: its input gradient is w everywhere."""
    w = torch.full((dim,), slope / dim**0.5)
    return lambda x: x.flatten(1) @ w + 1.0


@pytest.fixture
def batches():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 3, generator=g), torch.randn(64, 3, generator=g) + 2


@pytest.mark.parametrize("slope, gp, one_sided, r1", [(3.0, 4.0, 4.0, 4.5), (0.5, 0.25, 0.0, 0.125), (1.0, 0.0, 0.0, 0.5)])
def test_penalties_of_a_linear_critic(batches, slope, gp, one_sided, r1) -> None:
    real, fake = batches
    critic = linear_critic(slope)
    assert PENALTIES.get("gp")(critic, real, fake).item() == pytest.approx(gp, abs=1e-5)  # (|w| - 1)^2
    assert PENALTIES.get("gp-one-sided")(critic, real, fake).item() == pytest.approx(one_sided, abs=1e-5)
    assert PENALTIES.get("dragan")(critic, real, fake).item() == pytest.approx(gp, abs=1e-5)
    assert PENALTIES.get("r1")(critic, real, fake).item() == pytest.approx(r1, abs=1e-5)  # |w|^2 / 2
    assert PENALTIES.get("none")(critic, real, fake).item() == 0.0


def test_r1_of_a_quadratic_critic_is_half_the_mean_square_norm(batches) -> None:
    real, fake = batches  # D(x) = |x|^2 / 2 has gradient x, so R1 = E|x|^2 / 2, on real data only
    value = PENALTIES.get("r1")(lambda x: 0.5 * (x**2).sum(1), real, fake)
    assert value.item() == pytest.approx(0.5 * (real**2).sum(1).mean().item(), rel=1e-5)


def test_gradient_penalty_is_taken_between_real_and_fake(batches) -> None:
    real, fake = batches  # D(x) = |x|^2 / 2: |grad| = |xhat|; xhat on the segments between the batches
    torch.manual_seed(3)
    value = PENALTIES.get("gp")(lambda x: 0.5 * (x**2).sum(1), real, fake)
    torch.manual_seed(3)
    u = torch.rand(64, 1)
    expected = (((fake + u * (real - fake)).norm(dim=1) - 1) ** 2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)



def test_dragan_perturbs_only_the_real_batch_by_half_its_std_times_uniform_noise() -> None:
    # Guards DRAGAN's sampling, which a linear critic cannot see: xhat = x + t 0.5 std(x) u,
    # t ~ U[0, 1], u ~ U[0, 1]^d, around the *real* batch only. D(x) = x_0 + 2/3 x_0^1.5 has
    # |grad D| = 1 + sqrt(x_0), so (|grad D| - 1)^2 = xhat_0 and the penalty is mean(xhat_0):
    # the value reads off the mean displacement along x_0, sign and size.
    critic = lambda x: x[:, 0] + 2 / 3 * x[:, 0] ** 1.5
    g = torch.Generator().manual_seed(0)
    real = 4 + 0.5 * torch.randn(4096, 3, generator=g)  # x_0 in ~[2, 6], std ~0.5
    fake = 100 + 10 * torch.randn(4096, 3, generator=g)  # far from real, and 20x wider
    dragan = PENALTIES.get("dragan")
    torch.manual_seed(0)
    value = dragan(critic, real, fake).item()
    torch.manual_seed(0)  # same draws, another fake batch: the value must not move
    assert dragan(critic, real, fake + 50).item() == pytest.approx(value, rel=1e-6)
    base, half_std = real[:, 0].mean().item(), 0.5 * real.std().item()
    # for every draw 0 <= t u <= 1: the value lies between the data and the data shifted by 0.5 std
    assert base <= value <= base + half_std
    # E[t u] = 1/4 and t u has sd 0.22, so over 4096 draws the mean is 1/4 +- 0.0035 (0.02 ~ 6 sd).
    # randn noise gives ~0, no 0.5 factor or no interpolation 1/2, fake's std ~2.5
    assert (value - base) / half_std == pytest.approx(0.25, abs=0.02)

def test_penalties_are_differentiable_in_the_critic(batches) -> None:
    real, fake = batches
    w = torch.tensor([2.0, 0.0, 0.0], requires_grad=True)
    PENALTIES.get("gp")(lambda x: x @ w, real, fake).backward()  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w/|w|
    assert w.grad.tolist() == pytest.approx([2.0, 0.0, 0.0], abs=1e-5)


def test_sinkhorn_of_a_measure_with_itself_is_zero_and_a_shift_costs_half_its_square() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.rand(300, 2, generator=g)
    assert sinkhorn_divergence(a, a, blur=0.01).item() == pytest.approx(0.0, abs=1e-6)
    shift = torch.tensor([0.3, -0.4])  # |t| = 0.5: W2^2 / 2 = 0.125 for a translation
    assert sinkhorn_divergence(a, a + shift, blur=0.01, scaling=0.9).item() == pytest.approx(0.125, rel=0.02)
    b = torch.rand(200, 2, generator=g) + 0.1
    assert sinkhorn_divergence(a, b).item() == pytest.approx(sinkhorn_divergence(b, a).item(), rel=1e-3)
    assert sinkhorn_divergence(a, b).item() > 0
