"""Adversarial losses as pure functions of discriminator logits.

Notation: r = D(x) logits on real data, f = D(G(z)) logits on fakes, sigma the logistic
sigmoid, so D's probability is sigma(logit). Identities used for numerical stability:
    log sigma(t)     = -softplus(-t)
    log(1 - sigma(t)) = -softplus(t)
Each loss is registered in `LOSSES` as an `AdversarialLoss` (a D loss and a G loss);
every function returns a scalar to *minimise*.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor

from gankit.registry import LOSSES


@dataclass(frozen=True)
class AdversarialLoss:
    """The two sides of one adversarial objective."""

    d: Callable[[Tensor, Tensor], Tensor]  # (real_logits, fake_logits) -> scalar
    g: Callable[[Tensor], Tensor]  # fake_logits -> scalar
    doc: str = ""


def d_logistic(real: Tensor, fake: Tensor) -> Tensor:
    # max_D E[log D(x)] + E[log(1 - D(G(z)))]  <=>  min E[softplus(-r)] + E[softplus(f)]
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    # min_G E[log(1 - D(G(z)))] = E[-softplus(f)]  (Goodfellow et al. 2014, eq. 1; saturates
    # when D rejects fakes confidently: d/df of -softplus(f) = -sigma(f) -> 0)
    return -F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    # max_G E[log D(G(z))]  <=>  min E[softplus(-f)]  (the "-log D trick", same fixed point,
    # strong gradients early in training)
    return F.softplus(-fake).mean()


LOSSES.register("ns")(AdversarialLoss(d_logistic, g_nonsaturating, "non-saturating GAN: G maximises log D(G(z))"))
LOSSES.register("minimax")(AdversarialLoss(d_logistic, g_minimax, "minimax GAN: G minimises log(1 - D(G(z)))"))
