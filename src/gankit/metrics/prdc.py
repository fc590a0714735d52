"""Precision, recall, density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity
Metrics for Generative Models"; definitions as in clovaai/generative-evaluation-prdc).

With r_i the distance from real X_i to its k-th nearest other real point (fake: s_j likewise),
B(c, r) the open ball, N real and M fake features:

    precision = 1/M   sum_j 1[ exists i: Y_j in B(X_i, r_i) ]     fakes on the real manifold
    recall    = 1/N   sum_i 1[ exists j: X_i in B(Y_j, s_j) ]     reals on the fake manifold
    density   = 1/(kM) sum_j sum_i 1[ Y_j in B(X_i, r_i) ]        (can exceed 1)
    coverage  = 1/N   sum_i 1[ exists j: Y_j in B(X_i, r_i) ]     real balls holding a fake

"In the ball" is a strict |.| < r, as the reference code. Distances are computed in float64
blocks, so 10k x 10k never holds the full 800 MB matrix. The matrix-product distance is not
bitwise symmetric (d(a, b) and d(b, a) may differ in the last bits), so a point exactly at
distance r, such as the k-th neighbour itself when fake = real, could fall either side of the
strict test; a relative margin of 1e-9 (far below any real difference) keeps such ties outside,
as exact arithmetic would.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

K = 5
_BLOCK = 1024
_TIE = 1 - 1e-9  # see the module docstring: ties within round-off count as outside the ball


def _distances(a: Tensor, b: Tensor) -> Tensor:
    """Euclidean (len(a), len(b)) in float64 (|a|^2 + |b|^2 - 2ab is exact enough there)."""
    return torch.cdist(a, b).clamp_min_(0)


def kth_neighbour_radii(x: Tensor, k: int) -> Tensor:
    """(N,) distance from each row of x to its k-th nearest other row (itself is the 0th)."""
    if len(x) <= k:
        raise ValueError(f"k={k} nearest neighbours need more than {k} points, got {len(x)}")
    out = torch.empty(len(x), dtype=torch.float64)
    for i in range(0, len(x), _BLOCK):
        d = _distances(x[i : i + _BLOCK], x)
        out[i : i + _BLOCK] = d.kthvalue(k + 1, dim=1).values
    return out


def prdc(fake: Tensor, real: Tensor, k: int = K) -> dict[str, float]:
    """Precision, recall, density, coverage of fake (M, d) against real (N, d) features."""
    fake, real = fake.detach().to("cpu", torch.float64), real.detach().to("cpu", torch.float64)
    r_real, r_fake = kth_neighbour_radii(real, k) * _TIE, kth_neighbour_radii(fake, k) * _TIE
    in_real_balls = torch.zeros(len(fake), dtype=torch.float64)  # per fake: how many real balls hold it
    real_covered = torch.zeros(len(real), dtype=torch.bool)  # per real: a fake in its ball
    real_recalled = torch.zeros(len(real), dtype=torch.bool)  # per real: inside some fake ball
    for j in range(0, len(fake), _BLOCK):
        d = _distances(fake[j : j + _BLOCK], real)  # (block, N)
        inside = d < r_real[None, :]
        in_real_balls[j : j + _BLOCK] = inside.sum(1).double()
        real_covered |= inside.any(0)
        real_recalled |= (d < r_fake[j : j + _BLOCK, None]).any(0)
    return {
        "precision": float((in_real_balls > 0).double().mean()),
        "recall": float(real_recalled.double().mean()),
        "density": float(in_real_balls.mean() / k),
        "coverage": float(real_covered.double().mean()),
    }


@register_metric("prdc", kind="images", formula=prdc, needs=("feature_net", "reference"), min_n=50)
def evaluate_prdc(ctx: EvalContext) -> list[Score]:
    """Precision, recall, density and coverage with k nearest neighbours in feature space."""
    k = int(ctx.options.get("prdc_k", K))
    values = prdc(ctx.features("fake"), ctx.features("real"), k)
    extra = {"k": k, "definition": "Naeem et al. 2020, strict ball membership"}
    return [Score(key, value, ctx.feature_net, extra) for key, value in values.items()]
