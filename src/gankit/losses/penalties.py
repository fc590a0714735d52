"""Regularisers of the discriminator, as pure functions of a critic and data batches.

Each is registered in `PENALTIES` and called as `penalty(critic, real, fake) -> scalar`
(unweighted; the game multiplies by game.penalty_weight). `critic(x)` returns D's outputs
(N,) for a batch; the gradients are taken with respect to the *inputs* with
create_graph=True, so the penalty itself is differentiated through when D steps.
Random interpolation weights come from torch's global generator (seeded, checkpointed).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from gankit import batch_part
from gankit.registry import PENALTIES

Critic = Callable[[Tensor], Tensor]


def input_gradient_sq_norm(critic: Critic, x: Tensor) -> Tensor:
    """||grad_x D(x)||_2^2 per example, (N,), differentiable (create_graph=True). D(x_i) depends on
    x_i alone (no batch norm in a penalised critic), so grad of the sum gives every example's gradient."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1)


def input_gradient_norm(critic: Critic, x: Tensor) -> Tensor:
    """||grad_x D(x)||_2 per example; the 1e-12 keeps the backward finite where the gradient is 0."""
    return (input_gradient_sq_norm(critic, x) + 1e-12).sqrt()


def _between(a: Tensor, b: Tensor) -> Tensor:
    """a + u (b - a), one u ~ U[0, 1] per example."""
    u = batch_part.rows(len(a), lambda m: torch.rand(m, *([1] * (a.ndim - 1)), device=a.device, dtype=a.dtype))
    return a + u * (b - a)


@PENALTIES.register("none")
def no_penalty(critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
    return real.new_zeros(())


@PENALTIES.register("gp")
def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
    # WGAN-GP (Gulrajani et al. 2017, eq. 3): E_xhat[(||grad D(xhat)||_2 - 1)^2],
    # xhat = eps x + (1 - eps) G(z), eps ~ U[0, 1]: a soft 1-Lipschitz constraint on the lines
    # between real and fake samples, where the optimal critic has unit gradient norm
    return ((input_gradient_norm(critic, _between(fake, real)) - 1) ** 2).mean()


@PENALTIES.register("gp-one-sided")
def one_sided_gradient_penalty(critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
    # E_xhat[max(0, ||grad D(xhat)|| - 1)^2] (Gulrajani et al. 2017, appendix; Petzka et al. 2018):
    # only gradients steeper than 1 are penalised, which is what 1-Lipschitz asks for
    return (torch.relu(input_gradient_norm(critic, _between(fake, real)) - 1) ** 2).mean()


@PENALTIES.register("dragan")
def dragan_penalty(critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
    # DRAGAN (Kodali et al. 2017): E[(||grad D(xhat)|| - 1)^2] around the *data* only:
    # x_p = x + 0.5 std(x) u, u ~ U[0, 1]^d (the authors' code), xhat between x and x_p.
    # Sharp gradients of D near real data are what create the local equilibria of mode collapse.
    perturbed = real + 0.5 * real.std() * batch_part.rand_like(real)
    return ((input_gradient_norm(critic, _between(real, perturbed)) - 1) ** 2).mean()


@PENALTIES.register("r1")
def r1_penalty(critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
    # R1 (Mescheder et al. 2018, eq. 9): 1/2 E_x[||grad D(x)||^2] on real data; with weight gamma the
    # D loss gains gamma/2 E||grad D(x)||^2. D is pushed to be flat on the data, which makes the
    # (non-saturating) game locally convergent.
    return 0.5 * input_gradient_sq_norm(critic, real).mean()
