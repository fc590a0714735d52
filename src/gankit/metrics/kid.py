"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

    k(x, y) = (x . y / d + 1)^3                                   (d = feature dimension)
    MMD^2_u = sum_{i != j} k(f_i, f_j) / (m (m - 1)) + sum_{i != j} k(r_i, r_j) / (m (m - 1))
              - 2 sum_{i, j} k(f_i, r_j) / m^2

on random subsets of m fake and m real features (default m = 1000, 100 subsets, each drawn
without replacement); KID = mean over subsets, with their std. Unlike FID the estimator is
unbiased: for two samples of one distribution its expectation is exactly 0 (it can be negative).
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

SUBSET_SIZE = 1000
N_SUBSETS = 100


def polynomial_kernel(x: Tensor, y: Tensor) -> Tensor:
    """(x . y / d + 1)^3 for rows of x (m, d) and y (n, d) -> (m, n) float64.
    The product runs in float32 (fast); the cube and the sums in float64 (the MMD is a small
    difference of large sums)."""
    d = x.shape[1]
    return (x.float() @ y.float().T).double().div_(d).add_(1).pow_(3)


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD^2 between samples x (m, d) and y (n, d) under the cubic polynomial kernel."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("the unbiased MMD needs at least 2 samples on each side")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))  # i != j: the diagonal is the bias
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def kid(fake: Tensor, real: Tensor, subset_size: int = SUBSET_SIZE, n_subsets: int = N_SUBSETS,
        generator: torch.Generator | None = None) -> tuple[float, float]:
    """(mean, std) of MMD^2_u over `n_subsets` random subsets of min(subset_size, N, M) per side."""
    m = min(subset_size, len(fake), len(real))
    g = generator or torch.Generator().manual_seed(0)
    values = torch.tensor([mmd2_unbiased(fake[torch.randperm(len(fake), generator=g)[:m]],
                                         real[torch.randperm(len(real), generator=g)[:m]])
                           for _ in range(n_subsets)], dtype=torch.float64)
    return float(values.mean()), float(values.std()) if n_subsets > 1 else 0.0


@register_metric("kid", kind="images", formula=kid, needs=("feature_net", "reference"), min_n=50)
def evaluate_kid(ctx: EvalContext) -> list[Score]:
    """Unbiased polynomial-kernel MMD^2 of fake vs real features, mean and std over subsets."""
    size = int(ctx.options.get("kid_subset_size", SUBSET_SIZE))
    count = int(ctx.options.get("kid_subsets", N_SUBSETS))
    fake, real = ctx.features("fake"), ctx.features("real")
    mean, std = kid(fake, real, size, count, ctx.generator(13))
    m = min(size, len(fake), len(real))
    extra = {"std": std, "subset_size": m, "n_subsets": count, "kernel": "(x.y/d + 1)^3"}
    return [Score("kid", mean, ctx.feature_net, extra), Score("kid_std", std, ctx.feature_net, extra)]
