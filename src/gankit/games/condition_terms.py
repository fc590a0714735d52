"""Extra terms a conditional GAN can add to D's and G's losses, from D's extra heads
(nets.conditioning.condition_heads), so the gan game and its relatives (StackGAN) share them.

    auxiliary  (ACGAN, Odena et al. 2017; the tag classifier of Jin et al. 2017)
        D: w * CE(aux(x), c) on real data        G: w * CE(aux(G(z, c)), c)
        softmax CE for class ids, binary CE per tag for multi-hot vectors
    contrastive  (the image-text contrastive loss of XMC-GAN, Zhang et al. 2021, on D's projection)
        S_ij = <embed(c_j), h(x_i)>, the projection score of image i with condition j of the batch
        D: w * CE(S(real), matches)              G: w * CE(S(G(z, c)), matches)
        matches: row i's target is spread evenly over the j whose condition equals c_i (a batch may
        hold one caption twice; mode seeking pairs rows on purpose). A GAN-CLS mismatch term shows D
        one wrong caption per image; this shows it the whole batch's, so D learns to read the text
        (and G to follow it) from every batch, not from the one it happened to draw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gankit.nets.conditioning import auxiliary_loss


def matches(c: Tensor) -> Tensor:
    """(N, N) targets: row i spread evenly over the columns whose condition equals c_i."""
    ids = torch.unique(c.reshape(len(c), -1), dim=0, return_inverse=True)[1]  # N ids, not an (N, N, D) table
    same = (ids[:, None] == ids[None, :]).float()
    return same / same.sum(1, keepdim=True)


def contrastive_loss(scores: Tensor, c: Tensor) -> Tensor:
    """Cross-entropy of each row's softmax over the batch's conditions against its matches."""
    return -(matches(c) * torch.log_softmax(scores, dim=1)).sum(1).mean()


@dataclass(frozen=True)
class ConditionTerms:
    auxiliary: float = 0.0
    contrastive: float = 0.0

    @property
    def heads(self) -> tuple[str, ...]:
        return (("aux",) if self.auxiliary else ()) + (("pairs",) if self.contrastive else ())

    def loss(self, who: str, extra: dict[str, Tensor], c: Tensor) -> tuple[Tensor | float, dict[str, Any]]:
        """The weighted sum of the terms for `who` (D on real data, G on its fakes) and their stats."""
        total: Tensor | float = 0.0
        stats: dict[str, Any] = {}
        if self.auxiliary:
            aux = auxiliary_loss(extra["aux"], c)
            total = total + self.auxiliary * aux
            stats[f"aux_{who}"] = aux.detach()
        if self.contrastive:
            nce = contrastive_loss(extra["pairs"], c)
            total = total + self.contrastive * nce
            stats[f"match_{who}"] = nce.detach()
        return total, stats
