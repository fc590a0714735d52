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
    # True when sigmoid(D's output) is D's probability that x is real (logistic losses). For the
    # others (Wasserstein, hinge, least squares) the raw output is the critic's score.
    probabilistic: bool = True
    # The generator side's loss on logits of pairs D should call real (ALI/BiGAN's encoder pairs (x, E(x))):
    # None = loss.g(-r), the fake target mirrored (ns: softplus(r), wgan/hinge: E[r], minimax: -softplus(-r)).
    e: Callable[[Tensor], Tensor] | None = None

    def encoder(self, real: Tensor) -> Tensor:
        """What E minimises so that D takes its pairs for fakes (the label swap of Dumoulin et al. 2017)."""
        return self.e(real) if self.e is not None else self.g(-real)


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


def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    # max_D E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017): D is a critic, its scores are unbounded and
    # the gap estimates W1 only while D is kept 1-Lipschitz (clipping or a gradient penalty)
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    # min_G -E[D(G(z))]; also the generator loss of the hinge GAN (Lim & Ye 2017; Miyato et al. 2018)
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    # min_D E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: no gradient from examples already
    # classified with a margin of 1
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    # min_D 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] (LSGAN, Mao et al. 2017, targets b = 1, a = 0)
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    # min_G 1/2 E[(D(G(z)) - 1)^2] (LSGAN, c = 1): fakes far from the decision boundary still get
    # gradients, unlike the saturating sigmoid loss
    return 0.5 * ((fake - 1) ** 2).mean()


LOSSES.register("wgan")(AdversarialLoss(d_wasserstein, g_wasserstein,
                                        "Wasserstein: D a critic, E[D(x)] - E[D(G(z))]", probabilistic=False))
LOSSES.register("hinge")(AdversarialLoss(d_hinge, g_wasserstein, "hinge: D margin 1, G maximises D(G(z))",
                                         probabilistic=False))
def e_least_squares(real: Tensor) -> Tensor:
    # min_E 1/2 E[D(x, E(x))^2]: the generator side pulls real-side pairs to the fake target a = 0
    return 0.5 * (real**2).mean()


LOSSES.register("lsgan")(AdversarialLoss(d_least_squares, g_least_squares, "least squares (LSGAN): targets 1 and 0",
                                         probabilistic=False, e=e_least_squares))
