"""2-Wasserstein distance between generated points and fresh data points (2D toy data).

Exact, for two equal-size samples: the optimal assignment (Hungarian algorithm, scipy)
    W2(P_n, Q_n) = ( min_sigma 1/n sum_i |x_i - y_sigma(i)|^2 )^(1/2)
Sliced (Rabin et al. 2011; Bonneel et al. 2015), with L random unit directions theta_l:
    SW2 = ( 1/L sum_l W2^2(theta_l . X, theta_l . Y) )^(1/2),  1D W2^2 = mean (sorted a - sorted b)^2
Both are between two finite samples, so even a perfect generator scores > 0: the reference value
"data vs data" (two fresh data samples of the same size) is reported beside it.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

N_PROJECTIONS = 256
MAX_EXACT = 3000  # the assignment is O(n^3): 2,500 points take about a second


def sliced_w2(x: Tensor, y: Tensor, n_projections: int = N_PROJECTIONS,
              generator: torch.Generator | None = None) -> float:
    """Sliced 2-Wasserstein distance between equal-size samples x, y (n, d)."""
    if x.shape != y.shape:
        raise ValueError(f"sliced_w2 needs equal-size samples, got {tuple(x.shape)} and {tuple(y.shape)}")
    g = generator or torch.Generator().manual_seed(0)
    theta = torch.randn(x.shape[1], n_projections, generator=g, dtype=torch.float64)
    theta /= theta.norm(dim=0, keepdim=True)
    px = (x.detach().to("cpu", torch.float64) @ theta).sort(dim=0).values
    py = (y.detach().to("cpu", torch.float64) @ theta).sort(dim=0).values
    return math.sqrt(float((px - py).square().mean()))


def exact_w2(x: Tensor, y: Tensor) -> float | None:
    """Exact W2 between equal-size samples by optimal assignment; None without scipy."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        return None
    a, b = x.detach().to("cpu", torch.float64), y.detach().to("cpu", torch.float64)
    cost = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").square().numpy()
    rows, cols = linear_sum_assignment(cost)
    return math.sqrt(float(cost[rows, cols].mean()))


@register_metric("w2", kind="points", formula=sliced_w2, needs=("reference",))
def evaluate_w2(ctx: EvalContext) -> list[Score]:
    """2-Wasserstein distance of generated points to fresh data points (exact if scipy, and sliced)."""
    n = len(ctx.fake)
    if ctx.fresh_real is not None:
        real, other = ctx.fresh_real(n, ctx.generator(17)), ctx.fresh_real(n, ctx.generator(19))
        source = "fresh samples of the data distribution"
    else:  # shapes without a sampler: two disjoint random subsets of the data pool
        perm = torch.randperm(len(ctx.real), generator=ctx.generator(17))
        if len(perm) < 2 * n:
            n = len(perm) // 2
        real, other = ctx.real[perm[:n]], ctx.real[perm[n : 2 * n]]
        source = "random subset of the data pool"
    fake = ctx.fake[:n]
    extra = {"real_samples": source, "n_projections": N_PROJECTIONS}
    scores = []
    if n <= MAX_EXACT:
        value = exact_w2(fake, real)
        if value is not None:
            floor = exact_w2(other, real)
            scores.append(Score("w2", value, None, {"method": "exact (optimal assignment)",
                                                    "data_vs_data": floor, **extra}))
    sw = sliced_w2(fake, real, generator=ctx.generator(23))
    floor_sw = sliced_w2(other, real, generator=ctx.generator(23))
    scores.append(Score("sliced_w2", sw, None, {"method": "sliced", "data_vs_data": floor_sw, **extra}))
    return scores
