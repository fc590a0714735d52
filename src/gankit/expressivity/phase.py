"""Order and chaos measured on random networks, beside the mean-field prediction (Poole et al. 2016).

The measured per-layer stretch is the growth of the length element |dh^l / dtheta| of the circle
of `trajectory` (the integrand of its length), pushed forward exactly by the Jacobian:
dh^{l+1} = W^{l+1} (phi'(h^l) * dh^l). Averaged over points of the circle and over layers after a
burn-in, its log is the network's log sqrt(chi_1). The measured critical sigma_w is where that log
crosses 0, found by bisection with the weights held fixed up to the scale sigma_w (common random
numbers: W = sigma_w Z / sqrt(N) with one Z), so the measured curve is smooth in sigma_w.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.expressivity import meanfield
from gankit.expressivity.trajectory import default_radius

_DPHI = {"tanh": lambda h: 1 - torch.tanh(h) ** 2, "relu": lambda h: (h > 0).to(h.dtype),
         "hardtanh": lambda h: (h.abs() < 1).to(h.dtype)}
_PHI = {"tanh": torch.tanh, "relu": torch.relu, "hardtanh": lambda h: torch.clamp(h, -1.0, 1.0)}


@dataclass(frozen=True)
class Probe:
    """Fixed standard-normal weights and biases, scaled by sigma_w / sqrt(N) and sigma_b on use."""

    activation: str
    width: int
    depth: int
    seed: int
    z: list[torch.Tensor]
    beta: list[torch.Tensor]


def make_probe(activation: str, width: int = 1000, depth: int = 20, seed: int = 0) -> Probe:
    """Draw the standard-normal weights once (float32 storage: 4 bytes a weight)."""
    g = torch.Generator().manual_seed(seed)
    z = [torch.randn(width, width, generator=g) for _ in range(depth)]
    beta = [torch.randn(width, generator=g, dtype=torch.float64) for _ in range(depth)]
    return Probe(activation, width, depth, seed, z, beta)


def log_stretch(probe: Probe, sigma_w: float, sigma_b: float, points: int = 16, burn_in: int = 4) -> float:
    """Mean over layers > burn_in of log(sum_theta |dh^{l+1}| / sum_theta |dh^l|): the measured log sqrt(chi_1)."""
    act, n = probe.activation, probe.width
    radius = default_radius(act, n, sigma_w, sigma_b)
    theta = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
    scale = sigma_w / math.sqrt(n)
    w1 = probe.z[0].double() * scale
    h = radius * (torch.cos(theta)[:, None] * w1[:, 0] + torch.sin(theta)[:, None] * w1[:, 1]) + sigma_b * probe.beta[0]
    dh = radius * (-torch.sin(theta)[:, None] * w1[:, 0] + torch.cos(theta)[:, None] * w1[:, 1])
    logs = []
    for l in range(1, probe.depth):
        w = probe.z[l].double() * scale
        before = dh.norm(dim=1).sum()
        h, dh = _PHI[act](h) @ w.T + sigma_b * probe.beta[l], (_DPHI[act](h) * dh) @ w.T
        if l >= burn_in:
            logs.append(math.log(float(dh.norm(dim=1).sum() / before)))
        if not math.isfinite(logs[-1] if logs else 0.0) or float(dh.norm(dim=1).sum()) == 0:
            break  # the signal died or blew up: the sign of the average is all that matters
    return sum(logs) / max(len(logs), 1)


def measured_critical_sigma_w(probe: Probe, sigma_b: float, lo: float = 0.5, hi: float = 4.0,
                              tol: float = 1e-3) -> float:
    """sigma_w where the measured log stretch crosses 0 (bisection); ValueError if [lo, hi] does not bracket it."""
    f_lo, f_hi = log_stretch(probe, lo, sigma_b), log_stretch(probe, hi, sigma_b)
    if not (f_lo < 0 < f_hi):
        raise ValueError(f"measured stretch does not cross 1 between sigma_w={lo} and {hi} (sigma_b={sigma_b})")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if log_stretch(probe, mid, sigma_b) < 0 else (lo, mid)
    return (lo + hi) / 2


def critical_line(activation: str, sigma_bs: list[float]) -> list[float]:
    """Mean-field critical sigma_w for each sigma_b (chi_1 = 1)."""
    return [meanfield.critical_sigma_w(activation, b) for b in sigma_bs]
