"""ReLU networks as plain float64 arrays, for exact geometry.

A network here is its list of *hidden* layers, `Layers = list[(W, b)]`, W of shape (n_l, n_{l-1})
and b of shape (n_l,), each followed by ReLU: h^l = relu(W^l h^{l-1} + b^l), h^0 = x. A final
linear read-out never changes where the activation pattern changes, so it is not part of a count.

Random initialisation (the convention of Poole et al. 2016 and Hanin & Rolnick 2019):
W_ij ~ N(0, sigma_w^2 / n_{l-1}), b_i ~ N(0, sigma_b^2); "He" is sigma_w^2 = 2 (He et al. 2015).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Layer = tuple[np.ndarray, np.ndarray]
Layers = list[Layer]

HE_SIGMA_W = math.sqrt(2.0)


def random_layers(widths: Sequence[int], input_dim: int, *, sigma_w: float, sigma_b: float,
                  seed: int) -> Layers:
    """Hidden layers of widths n_1..n_L: W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2), float64."""
    if input_dim < 1 or not widths or min(widths) < 1:
        raise ValueError(f"need input_dim >= 1 and widths >= 1, got {input_dim}, {list(widths)}")
    rng = np.random.default_rng(seed)
    layers, fan_in = [], input_dim
    for n in widths:
        w = rng.standard_normal((n, fan_in)) * (sigma_w / math.sqrt(fan_in))
        b = rng.standard_normal(n) * sigma_b
        layers.append((w, b))
        fan_in = n
    return layers


def layers_from_torch(module: object) -> Layers:
    """Hidden layers of a torch `nn.Sequential` of Linear/ReLU pairs (a trailing Linear read-out is dropped)."""
    from torch import nn

    mods = list(module.children())  # a flat Sequential
    layers: Layers = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Linear) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU):
            b = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(m.out_features)
            layers.append((m.weight.detach().double().numpy().copy(), b.copy()))
            i += 2
        elif isinstance(m, nn.Linear) and i == len(mods) - 1:
            i += 1  # read-out
        else:
            raise ValueError(f"expected Linear, ReLU pairs and one final Linear, found {type(m).__name__} at {i}")
    return layers


def restrict(layers: Layers, origin: np.ndarray, directions: np.ndarray) -> Layers:
    """The same network on the slice x = origin + directions^T s (s in R^k): folds the slice into layer 1.

    directions has shape (k, input_dim); k = 1 for a line, 2 for a plane.
    """
    (w, b), rest = layers[0], layers[1:]
    return [(w @ directions.T, w @ origin + b), *rest]


def preactivations(layers: Layers, x: np.ndarray) -> list[np.ndarray]:
    """Pre-activations z^l = W^l h^{l-1} + b^l for every hidden layer, for points x of shape (m, n_0)."""
    out, h = [], x
    for w, b in layers:
        z = h @ w.T + b
        out.append(z)
        h = np.maximum(z, 0.0)
    return out


def patterns(layers: Layers, x: np.ndarray) -> np.ndarray:
    """Activation patterns (m, total neurons) of bool: neuron on iff its pre-activation is > 0."""
    return np.concatenate([z > 0 for z in preactivations(layers, x)], axis=1)


def n_neurons(layers: Layers) -> int:
    """Total hidden neurons."""
    return sum(w.shape[0] for w, _ in layers)


def widths_of(layers: Layers) -> list[int]:
    """[n_1, ..., n_L]."""
    return [w.shape[0] for w, _ in layers]
