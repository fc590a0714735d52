"""Within-class spread: does a class-conditional generator use z, or draw one picture per class?

Conditional accuracy alone rewards a generator that ignores z: one perfect garment per class
scores 100%. (gankit's first fashion-cgan did exactly that: every sample of a class identical,
conditional accuracy 1.0, FID 33.7.) This compares the variety within each class with the data's:

    spread(S) = mean_{i != j in S} || f(x_i) - f(x_j) ||          f: the feature net (FID's)
    class_spread = 1/K sum_k spread(fakes asked for k) / spread(real images of class k)
    class_spread_min = the same ratio for the worst class

About 1 when each class varies as much as the data; near 0 when z is ignored.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

PER_CLASS = 200  # members per class in the pairwise mean: enough for a stable ratio, cheap


def _spread(f: Tensor) -> float:
    n = len(f)
    return float(torch.cdist(f[None], f[None])[0].sum() / (n * (n - 1)))


def class_spread(fake_features: Tensor, asked: Tensor, real_features: Tensor, real_labels: Tensor) -> dict[str, float]:
    """{"class_spread": mean ratio over classes, "class_spread_min": the smallest} (classes with >= 2 of each)."""
    ratios = []
    asked, real_labels = asked.cpu(), real_labels.cpu()
    for k in torch.unique(asked).tolist():
        fake_k, real_k = fake_features[asked == k][:PER_CLASS], real_features[real_labels == k][:PER_CLASS]
        if len(fake_k) >= 2 and len(real_k) >= 2:
            ratios.append(_spread(fake_k.double()) / max(_spread(real_k.double()), 1e-12))
    if not ratios:
        return {"class_spread": float("nan"), "class_spread_min": float("nan")}
    return {"class_spread": sum(ratios) / len(ratios), "class_spread_min": min(ratios)}


@register_metric("class_spread", kind="images", formula=class_spread,
                 needs=("feature_net", "classifier", "condition:label", "reference"))
def evaluate_class_spread(ctx: EvalContext) -> list[Score]:
    """Variety of samples within each asked class relative to the data's (1 = as varied; 0 = z ignored)."""
    values = class_spread(ctx.features("fake"), ctx.condition("label"), ctx.features("real"), ctx.require("real_labels"))
    extra = {"per_class": f"at most {PER_CLASS} samples per class", "distance": "L2 in the feature net's features"}
    return [Score(k, v, ctx.feature_net, extra) for k, v in values.items()]
