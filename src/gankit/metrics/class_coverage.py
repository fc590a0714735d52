"""Class coverage: the Stacked-MNIST mode measure (Metz et al. 2017, "Unrolled GANs"; VEEGAN;
PacGAN) for any labelled dataset, with the domain classifier standing in for the mode labeller.

    classes_covered = #{ y : at least one generated sample is classified as y }
    class_kl        = KL(p_fake || p_data) = sum_{y: p_fake(y) > 0} p_fake(y) log(p_fake(y) / p_data(y))

p_fake = histogram of the classifier's predictions on generated samples; p_data = histogram of
the reference data's true labels. 0 for a generator whose classes are as frequent as the
data's; large when it drops or over-produces classes. Empty fake classes add 0 (0 log 0 = 0),
as in PacGAN's code; a class absent from the data but produced gives +inf (stored as null).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric


def class_coverage(predicted: Tensor, data_labels: Tensor, num_classes: int) -> dict[str, float | int]:
    """{"classes_covered", "n_classes", "class_kl"} from predicted classes (N,) and data labels (M,)."""
    p = torch.bincount(predicted.cpu(), minlength=num_classes).double()
    q = torch.bincount(data_labels.cpu(), minlength=num_classes).double()
    p, q = p / p.sum(), q / q.sum()
    used = p > 0
    if bool((used & (q == 0)).any()):
        kl = math.inf
    else:
        kl = float((p[used] * (p[used] / q[used]).log()).sum())
    return {"classes_covered": int(used.sum()), "n_classes": num_classes, "class_kl": kl}


@register_metric("class_coverage", kind="images", formula=class_coverage, needs=("classifier", "reference"))
def evaluate_class_coverage(ctx: EvalContext) -> list[Score]:
    """Distinct classes produced and KL of the predicted-class histogram against the data's labels."""
    net = ctx.require("classifier")
    labels = ctx.require("real_labels")
    values = class_coverage(ctx.logits("fake").argmax(1), labels, ctx.num_classes)
    extra = {"reference_histogram": f"true labels of {ctx.real_name}", "covered_if": ">= 1 sample predicted"}
    return [Score(key, value, net, extra) for key, value in values.items()]
