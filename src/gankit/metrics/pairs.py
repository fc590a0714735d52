"""Scores against a ground truth per sample (paired data: a translation and its target).

    target_l1 = mean |fake - target| over every element (pixels in [-1, 1], or coordinates)

The first of the translation scores (pix2pix and CycleGAN on data with exact ground truth);
it needs `pairs`, the target of each fake, which a game provides as its "target" panel.
"""
from __future__ import annotations

from torch import Tensor

from gankit.errors import UserError
from gankit.metrics.base import EvalContext, Score, register_metric


def target_l1(fake: Tensor, target: Tensor) -> float:
    """Mean absolute difference between each sample and its target, (N, ...) and (N, ...) -> float."""
    if fake.shape != target.shape:
        raise UserError(f"samples {tuple(fake.shape)} and their targets {tuple(target.shape)} differ in shape")
    return float((fake.double() - target.double()).abs().mean())


@register_metric("target_l1", kind="any", formula=target_l1, needs=("pairs",))
def evaluate_target_l1(ctx: EvalContext) -> list[Score]:
    """Mean absolute error of each sample against its ground-truth target (lower is better; 0 = exact)."""
    return [Score("target_l1", target_l1(ctx.fake, ctx.require("pairs")), None, {"what": "mean |fake - target|"})]
