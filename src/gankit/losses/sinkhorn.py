"""Debiased Sinkhorn divergence between two point clouds, on GeomLoss (Feydy et al. 2019).

    S_eps(a, b) = OT_eps(a, b) - 1/2 OT_eps(a, a) - 1/2 OT_eps(b, b)

with OT_eps the entropy-regularised optimal-transport cost of uniform weights on the points
and the ground cost C(x, y) = |x - y|^2 / 2 (GeomLoss p = 2). Genevay, Peyre & Cuturi 2018
write the divergence as 2 W_eps(mu, nu) - W_eps(mu, mu) - W_eps(nu, nu), twice this one:
the factor changes nothing but the scale of the gradient.
How GeomLoss's `blur` relates to epsilon: eps = blur^p = blur^2 here, so blur is a length in
data units: structure finer than blur is smoothed away. blur -> 0 gives W2^2 / 2; blur -> inf
gives an energy-distance-like kernel MMD. `scaling` is the epsilon-scaling ratio of the
annealing: closer to 1 means more iterations and a more exact value. S_eps(a, a) = 0 exactly,
and S_eps >= 0.
"""
from __future__ import annotations

from functools import lru_cache

from torch import Tensor, nn

from gankit.errors import UserError


@lru_cache(maxsize=8)
def _samples_loss(blur: float, scaling: float) -> nn.Module:
    try:
        from geomloss import SamplesLoss
    except ImportError:
        raise UserError("the sinkhorn game needs GeomLoss: .venv/bin/pip install geomloss") from None
    # "tensorized" keeps everything in plain torch (no KeOps compilation); batches here are small.
    return SamplesLoss("sinkhorn", p=2, blur=blur, scaling=scaling, debias=True, backend="tensorized")


def sinkhorn_divergence(a: Tensor, b: Tensor, blur: float = 0.05, scaling: float = 0.9) -> Tensor:
    """S_eps(a, b) >= 0 for point clouds a (N, ...) and b (M, ...), flattened to vectors; eps = blur^2."""
    return _samples_loss(blur, scaling)(a.flatten(1).float(), b.flatten(1).float())
