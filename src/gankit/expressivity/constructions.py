"""Networks built by hand to reach a known number of regions, each checked by the exact counter.

  sawtooth   (Telgarsky 2015; Montufar et al. 2014): each layer of 2 ReLUs computes the tent map
             t(y) = 2y on [0, 1/2], 2 - 2y on [1/2, 1], which folds [0, 1] onto itself once;
             L layers fold it L times: 2^L pieces from 2L neurons.
  serra      (Serra, Tjandraatmadja & Ramalingam 2018, the 1-D input case, where their bound
             prod_l (n_l + 1) is reached): layer l's n_l >= 3 ReLUs compute a zigzag with n_l + 1
             teeth, each mapping its piece onto [0, 1]; the next layer sees every tooth as a
             fresh copy of [0, 1], so counts multiply: prod_l (n_l + 1).
  one-layer  k ReLUs whose lines are in general position (tangent to one circle, so no two are
             parallel and no three meet) cut the plane into 1 + k + C(k, 2) regions (Zaslavsky
             1975; the "parallel folds" of the issue); on a line, k breakpoints make k + 1 pieces.

A construction with input_dim = 2 uses x_1 only (its regions are strips of [0, 1]^2), except
one-layer, whose lines are genuinely 2-D.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gankit.expressivity.networks import Layers

NAMES = ("sawtooth", "serra", "one-layer")


@dataclass(frozen=True)
class Construction:
    """Hidden layers, a scalar read-out (w, c): y = w . h^L + c, the domain, and the theoretical count."""

    name: str
    layers: Layers
    readout: tuple[np.ndarray, float]
    bounds: tuple[float, float, float, float]  # (lo, hi) of x_1, then of x_2 (ignored in 1-D)
    expected: int
    formula: str


def _first(w1: np.ndarray, input_dim: int) -> np.ndarray:
    """Embed a 1-D first layer (n, 1) into input_dim inputs, acting on x_1."""
    return np.hstack([w1, np.zeros((w1.shape[0], input_dim - 1))])


def sawtooth(depth: int, input_dim: int = 1) -> Construction:
    """Tent map composed `depth` times on [0, 1], 2 ReLUs a layer: 2^depth pieces.

    t(y) = 2 relu(y + d) - 4 relu(y - 1/2) - 2d with d = 1/4: the first unit is on all over
    [0, 1] (shifting it by d keeps its switch off the domain, so no cut is degenerate).
    """
    d = 0.25
    w_in, b = np.array([[1.0], [1.0]]), np.array([d, -0.5])
    layers = [(_first(w_in, input_dim), b)]
    out = np.array([2.0, -4.0])
    for _ in range(depth - 1):
        # y = out . h - 2d is the previous tent; this layer computes relu(y + d), relu(y - 1/2).
        layers.append((np.vstack([out, out]), np.array([-2 * d + d, -2 * d - 0.5])))
    return Construction("sawtooth", layers, (out, -2 * d), (0.0, 1.0, 0.0, 1.0), 2**depth, f"2^{depth}")


def _zigzag(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """n >= 3 units relu(s_k (x - beta_k)) and g(x) = a + c . h: n + 1 teeth, each onto [0, 1].

    Teeth lengths 1/(2n+1), then 2/(2n+1) each; slopes alternate +-1/length. With every unit
    facing right the first tooth would be flat, so unit 3 faces left (relu(beta_3 - x)); the
    slopes then need s_0 = s_2 - s_3, which these lengths satisfy (2n+1 = (2n+1)/2 * 2).
    """
    beta = (2 * np.arange(1, n + 1) - 1) / (2 * n + 1)
    lengths = np.concatenate(([1.0], np.full(n, 2.0))) / (2 * n + 1)
    slopes = (-1.0) ** np.arange(n + 1) / lengths
    side = np.ones(n)
    side[2] = -1.0
    c = np.diff(slopes)  # the slope change at beta_k is c_k, whichever way unit k faces
    a = -c[2] * beta[2]  # g(0) = 0: only the left-facing unit is on at x = 0
    return beta, side, c, a


def serra(widths: list[int], input_dim: int = 1) -> Construction:
    """prod_l (n_l + 1) pieces on [0, 1]: zigzags of n_l + 1 teeth (n_l >= 3 except the last layer)."""
    if any(n < 3 for n in widths[:-1]) or widths[-1] < 1:
        raise ValueError(f"serra needs widths >= 3 (the last may be >= 1), got {widths}")
    layers: Layers = []
    prev: tuple[np.ndarray, float] | None = None
    for l, n in enumerate(widths):
        last = l == len(widths) - 1
        if last and n < 3:
            beta, side, c, a = (np.arange(1, n + 1) / (n + 1), np.ones(n), np.ones(n), 0.0)
        else:
            beta, side, c, a = _zigzag(n)
        if prev is None:  # z_k = s_k (x - beta_k)
            layers.append((_first(side[:, None], input_dim), -side * beta))
        else:  # z_k = s_k (g(h) - beta_k), g the previous zigzag read from h
            pc, pa = prev
            layers.append((np.outer(side, pc), side * (pa - beta)))
        prev = (c, a)
    expected = math.prod(n + 1 for n in widths)
    return Construction("serra", layers, (prev[0], prev[1]), (0.0, 1.0, 0.0, 1.0), expected,
                        " x ".join(f"({n}+1)" for n in widths))


def one_layer(k: int, input_dim: int = 2) -> Construction:
    """k ReLUs in general position: 1 + k + C(k, 2) regions of [-1, 1]^2 (k + 1 on [-1, 1] in 1-D).

    2-D: the lines n_i . x = r are tangent to the circle of radius r = 0.45 with normal angles
    spread over 120 degrees, so any two meet at distance r / cos(60 deg) = 0.9 or less: inside.
    """
    if input_dim == 1:
        beta = np.linspace(-1, 1, k + 2)[1:-1]
        w = np.ones((k, 1))
        return Construction("one-layer", [(w, -beta)], (np.ones(k), 0.0), (-1.0, 1.0, -1.0, 1.0), k + 1, f"{k}+1")
    theta = (np.arange(k) + 0.5) / k * (2 * math.pi / 3)
    w = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    w = np.hstack([w, np.zeros((k, input_dim - 2))])
    b = np.full(k, -0.45)
    expected = 1 + k + k * (k - 1) // 2
    return Construction("one-layer", [(w, b)], ((-1.0) ** np.arange(k), 0.0), (-1.0, 1.0, -1.0, 1.0), expected,
                        f"1 + {k} + C({k},2)")


def build(name: str, depth: int, width: int, input_dim: int) -> Construction:
    """The named construction; ValueError with one line on impossible sizes."""
    if name == "sawtooth":
        if width != 2:
            raise ValueError(f"sawtooth has width 2 (two ReLUs per fold), got --width {width}")
        return sawtooth(depth, input_dim)
    if name == "serra":
        return serra([width] * depth, input_dim)
    if name == "one-layer":
        if depth != 1:
            raise ValueError(f"one-layer has depth 1, got --depth {depth}")
        return one_layer(width, input_dim)
    raise ValueError(f"unknown construction {name!r}; choose from {', '.join(NAMES)}")


def evaluate(con: Construction, x: np.ndarray) -> np.ndarray:
    """The construction's scalar output at points x (m, n_0)."""
    h = x
    for w, b in con.layers:
        h = np.maximum(h @ w.T + b, 0.0)
    return h @ con.readout[0] + con.readout[1]


def serra_bound(widths: list[int], input_dim: int) -> int:
    """Serra et al. (2018) Theorem 1: the most regions a ReLU net of these widths can have on R^{n_0},

        sum over (j_1..j_L) in J of prod_l C(n_l, j_l),  J: 0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l),

    summed by dynamic programming over m_l = min(n_0, n_k - j_k for k <= l), the dimension the
    image keeps. Equal to prod(n_l + 1) for n_0 = 1 when every n_l >= 2 (tight when n_l >= 3).
    """
    ways = {input_dim: 1}  # m -> number of weighted paths
    for n in widths:
        nxt: dict[int, int] = {}
        for m, count in ways.items():
            for j in range(min(m, n) + 1):
                key = min(m, n - j)
                nxt[key] = nxt.get(key, 0) + count * math.comb(n, j)
        ways = nxt
    return sum(ways.values())
