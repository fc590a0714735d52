"""Mean-field theory of signal propagation in random deep networks (Poole et al. 2016).

A random network h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, W_ij ~ N(0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2),
sends the per-neuron squared length q^l = |h^l|^2 / N through the *length map*

    q^{l+1} = sigma_w^2 E_z[phi(sqrt(q^l) z)^2] + sigma_b^2,        z ~ N(0, 1)

whose stable fixed point is q*. The stretch of a small displacement per layer, at q*, is

    chi_1 = sigma_w^2 E_z[phi'(sqrt(q*) z)^2]

(ordered for chi_1 < 1: nearby inputs merge; chaotic for chi_1 > 1: they separate; a curve's length
grows by sqrt(chi_1) per layer). The curvature kappa of the image of a curve obeys (derived as in
Poole et al. 2016, section 4, with lengths in R^N so the 1/N appears)

    kappa_{l+1}^2 = 3 chi_2 / (N chi_1^2) + kappa_l^2 / chi_1,    chi_2 = sigma_w^2 E_z[phi''(sqrt(q*) z)^2].

Expectations are closed forms for the piecewise-linear phi (ReLU, hard-tanh) and, for tanh, a
table of accurate trapezoid sums over the variance q, interpolated (see `_tanh_table`).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
_erf = np.vectorize(math.erf, otypes=[float])


@dataclass(frozen=True)
class Activation:
    """An activation and its Gaussian moments at variances q (an array): (E phi^2, E phi'^2, E phi''^2)."""

    name: str
    phi: Callable[[Array], Array]
    moments: Callable[[Array], tuple[Array, Array, Array]]


ACTIVATIONS: dict[str, Activation] = {}


def _register(name: str, phi: Callable[[Array], Array]):
    def deco(moments: Callable[[Array], tuple[Array, Array, Array]]):
        ACTIVATIONS[name] = Activation(name, phi, moments)
        return moments
    return deco


@functools.lru_cache(maxsize=1)
def _tanh_table() -> tuple[Array, Array]:
    """log q and (E tanh^2 / q, E sech^4, E phi''^2 / q) on 3000 variances from 1e-10 to 1e4.

    Gauss-Hermite in z fails for large q (sech^4(sqrt(q) z) is a spike of width 1/sqrt(q): 121
    nodes are 2% off at q = 16), so each entry is a trapezoid sum in u = sqrt(q) z over
    |u| <= min(20, 12 sqrt(q)) with 2001 points: the sech terms decay like exp(-2|u|) and the
    Gaussian like exp(-u^2 / 2q), so both ends are negligible. Ratios by q keep the q -> 0 limit
    exact when interpolating (linearly in log q: about 1e-5 relative error).
    """
    log_q = np.linspace(math.log(1e-10), math.log(1e4), 3000)
    q = np.exp(log_q)[:, None]
    span = np.minimum(20.0, 12 * np.sqrt(q))
    u = np.linspace(-1, 1, 2001)[None, :] * span
    w = np.exp(-u * u / (2 * q)) / np.sqrt(2 * math.pi * q) * (u[:, 1:2] - u[:, :1])
    w[:, [0, -1]] /= 2
    t = np.tanh(u)
    sech2 = 1 - t * t
    tanh2 = np.where(q < 1, (t * t * w).sum(1, keepdims=True), 1 - (sech2 * w).sum(1, keepdims=True))
    return log_q, np.stack([tanh2[:, 0] / q[:, 0], (sech2**2 * w).sum(1), (4 * t * t * sech2**2 * w).sum(1) / q[:, 0]])


@_register("tanh", np.tanh)
def _tanh_moments(q: Array) -> tuple[Array, Array, Array]:
    q = np.maximum(np.asarray(q, float), 1e-300)
    log_q, table = _tanh_table()
    at = np.log(q)
    r0, m1, r2 = (np.interp(at, log_q, row) for row in table)
    return r0 * q, m1, r2 * q


@_register("relu", lambda h: np.maximum(h, 0.0))
def _relu_moments(q: Array) -> tuple[Array, Array, Array]:
    q = np.asarray(q, float)
    return q / 2, np.full_like(q, 0.5), np.zeros_like(q)  # phi'' is a delta at 0: no smooth curvature term


@_register("hardtanh", lambda h: np.clip(h, -1.0, 1.0))
def _hardtanh_moments(q: Array) -> tuple[Array, Array, Array]:
    q = np.maximum(np.asarray(q, float), 1e-300)
    a = 1 / np.sqrt(q)  # |sqrt(q) z| < 1  <=>  |z| < a
    inside = _erf(a / math.sqrt(2))
    # E[z^2 1{|z|<a}] = P(|z|<a) - 2 a pdf(a)
    z2_inside = inside - 2 * a * np.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return q * z2_inside + (1 - inside), inside, np.zeros_like(q)


def activation(name: str) -> Activation:
    """Look an activation up by name; ValueError names the choices."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


def length_map(act: str, q: Array | float, sigma_w: Array | float, sigma_b: Array | float) -> Array:
    """q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 (element-wise)."""
    return np.asarray(sigma_w) ** 2 * activation(act).moments(np.asarray(q, float))[0] + np.asarray(sigma_b) ** 2


def q_star(act: str, sigma_w: Array | float, sigma_b: Array | float) -> Array | float:
    """Stable fixed point of the length map; inf where q grows without bound (ReLU, sigma_w^2 >= 2).

    Bisection on f(q) - q, which is positive below q* and negative above it (f is increasing
    and concave here), so it is exact to float precision even at the critical point, where
    plain iteration slows down. Element-wise over arrays; a float in, a float out.
    """
    w, b = np.broadcast_arrays(np.asarray(sigma_w, float), np.asarray(sigma_b, float))
    if act == "relu":
        gain = w**2 / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(gain < 1, b**2 / (1 - gain), np.where((b == 0) & (gain == 1), 0.0, np.inf))
    else:
        lo = np.where(b > 0, 0.0, 1e-12)
        alive = length_map(act, lo, w, b) - lo > 0  # else sigma_b = 0 and the origin is the stable fixed point
        hi = 2 * np.maximum(1.0, w**2 + b**2)  # |phi| <= 1 bounds q* by sigma_w^2 + sigma_b^2
        for _ in range(64):
            mid = (lo + hi) / 2
            up = length_map(act, mid, w, b) - mid > 0
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        q = np.where(alive, (lo + hi) / 2, 0.0)
    return float(q) if q.ndim == 0 else q


def chi(act: str, sigma_w: Array | float, sigma_b: Array | float) -> tuple[Array | float, Array | float]:
    """(chi_1, chi_2) at the fixed point q*: the per-layer stretch and the curvature source."""
    q = np.asarray(q_star(act, sigma_w, sigma_b), float)
    _, m1, m2 = activation(act).moments(np.where(np.isinf(q), 1.0, q))  # ReLU slopes do not depend on q
    w2 = np.asarray(sigma_w, float) ** 2
    c1, c2 = w2 * m1, w2 * m2
    return (float(c1), float(c2)) if np.ndim(c1) == 0 else (c1, c2)


def critical_sigma_w(act: str, sigma_b: Array | float, lo: float = 0.5, hi: float = 6.0) -> Array | float:
    """The sigma_w where chi_1 = 1 (edge of chaos), by bisection (chi_1 increases with sigma_w)."""
    b = np.asarray(sigma_b, float)
    lo_a, hi_a = np.full_like(b, lo), np.full_like(b, hi)
    if np.any(chi(act, lo_a, b)[0] > 1) or np.any(chi(act, hi_a, b)[0] < 1):
        raise ValueError(f"no order-to-chaos transition for {act} at sigma_b={sigma_b} in [{lo}, {hi}]")
    for _ in range(50):
        mid = (lo_a + hi_a) / 2
        below = np.asarray(chi(act, mid, b)[0]) < 1
        lo_a, hi_a = np.where(below, mid, lo_a), np.where(below, hi_a, mid)
    out = (lo_a + hi_a) / 2
    return float(out) if out.ndim == 0 else out


def curvature_recursion(kappa_1: float, chi_1: float, chi_2: float, width: int, depth: int) -> list[float]:
    """kappa_l for l = 1..depth from kappa_1: kappa_{l+1}^2 = 3 chi_2 / (N chi_1^2) + kappa_l^2 / chi_1."""
    out = [kappa_1]
    for _ in range(depth - 1):
        out.append(math.sqrt(3 * chi_2 / (width * chi_1**2) + out[-1] ** 2 / chi_1))
    return out


def raghu_rate(act: str, sigma_w: float, sigma_b: float, width: int) -> float:
    """The per-layer factor inside Raghu et al. (2017) Theorem 1's lower bound on E[trajectory length].

    Hard-tanh: sigma_w sqrt(k) / sqrt(sigma_w^2 + sigma_b^2 + k sqrt(sigma_w^2 + sigma_b^2));
    ReLU: sigma_w sqrt(k) / sqrt(k + 1). The theorem states the bound as O(rate^d), so an
    unstated constant per layer separates it from a measured rate; tanh is not covered.
    """
    k = width
    if act == "hardtanh":
        s = sigma_w**2 + sigma_b**2
        return sigma_w * math.sqrt(k) / math.sqrt(s + k * math.sqrt(s))
    if act == "relu":
        return sigma_w * math.sqrt(k) / math.sqrt(k + 1)
    return math.nan
