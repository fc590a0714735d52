"""Classifier score (the Inception Score formula, Salimans et al. 2016, with the domain classifier)
and, for class-conditional generators, conditional accuracy.

    CS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x)   (over each of 10 splits)

High when each sample is classified confidently (low entropy of p(y|x)) and the classes are
balanced (high entropy of p(y)); at most the number of classes K. Reported as the mean and
std over 10 equal splits, as the original IS code does. Real data gives the reference value.

    conditional accuracy = 1/N sum_i 1[ argmax_y p(y|x_i) = c_i ],  c_i the class G was asked for
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

SPLITS = 10


def classifier_score(logits: Tensor, splits: int = SPLITS) -> tuple[float, float]:
    """(mean, std) over `splits` parts of exp(E_x KL(p(y|x) || p(y))) from logits (N, K)."""
    logp = torch.log_softmax(logits.detach().to("cpu", torch.float64), dim=1)
    splits = max(1, min(splits, len(logp)))
    values = []
    for part in torch.tensor_split(logp, splits):
        log_marginal = torch.logsumexp(part, dim=0) - torch.log(torch.tensor(float(len(part)), dtype=torch.float64))
        kl = (part.exp() * (part - log_marginal)).sum(1)  # KL(p(y|x) || p(y)) per sample
        values.append(torch.exp(kl.mean()))
    v = torch.stack(values)
    return float(v.mean()), float(v.std()) if len(v) > 1 else 0.0


def conditional_accuracy(logits: Tensor, asked: Tensor) -> float:
    """Fraction of samples the classifier assigns to the class they were generated for."""
    return float((logits.argmax(1).cpu() == asked.cpu()).double().mean())


@register_metric("classifier_score", kind="images", formula=classifier_score, needs=("classifier",))
def evaluate_classifier_score(ctx: EvalContext) -> list[Score]:
    """Inception-Score formula with the domain classifier's class probabilities (higher is better)."""
    net = ctx.require("classifier")
    mean, std = classifier_score(ctx.logits("fake"), SPLITS)
    real_mean, _ = classifier_score(ctx.logits("real"), SPLITS)
    extra = {"std": std, "splits": SPLITS, "real_data_value": real_mean, "max": net.info.get("num_classes")}
    return [Score("classifier_score", mean, net, {k: v for k, v in extra.items() if v is not None})]


@register_metric("conditional_accuracy", kind="images", formula=conditional_accuracy,
                 needs=("classifier", "condition:label"))
def evaluate_conditional_accuracy(ctx: EvalContext) -> list[Score]:
    """How often the domain classifier gives the class a conditional generator was asked for."""
    asked = ctx.condition("label")
    net = ctx.require("classifier")
    value = conditional_accuracy(ctx.logits("fake"), asked)
    extra = {"classifier_test_accuracy": net.info.get("test_accuracy"),
             "note": "bounded by the classifier's own accuracy on real data"}
    return [Score("conditional_accuracy", value, net, extra)]
