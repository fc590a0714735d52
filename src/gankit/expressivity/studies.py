"""Regions of typical networks: deep-narrow against shallow-wide, at initialisation and after training.

Two experiments, both with exact counts (`regions`):
  budget  every architecture with the same number of neurons N (depth d, width N / d) on the square
          [-1, 1]^2: regions at initialisation and after training on a small task, beside the most
          that architecture could have (Serra et al. 2018, Theorem 1).
  scan    regions along a segment against the total number of neurons, for several depths:
          Hanin & Rolnick (2019) prove that at initialisation the expected count per unit length
          grows linearly in the number of neurons, whatever the depth, while the maximum grows
          like (width + 1)^depth. The scan fits count - 1 = slope * N for every depth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gankit.expressivity.constructions import serra_bound
from gankit.expressivity.networks import (
    HE_SIGMA_W,
    Layers,
    layers_from_torch,
    random_layers,
)
from gankit.expressivity.regions import count_line, count_plane

SQUARE = (-1.0, 1.0, -1.0, 1.0)


@dataclass
class BudgetRow:
    """One architecture of the budget study."""

    widths: list[int]
    regions_init: int
    regions_trained: int | None
    accuracy: float | None
    bound: int
    init: Layers
    trained: Layers | None


def architectures(budget: int, max_depth: int = 8, min_width: int = 2) -> list[list[int]]:
    """[N], [N/2]*2, ...: every depth up to max_depth that divides the budget with width >= min_width."""
    return [[budget // d] * d for d in range(1, max_depth + 1) if budget % d == 0 and budget // d >= min_width]


def spirals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals in [-1, 1]^2 (1.5 turns each), labels 0/1: a task that needs many pieces."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * math.pi
    label = rng.integers(0, 2, n)
    r = t / (3 * math.pi) * 0.9
    angle = t + math.pi * label
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + rng.normal(0, 0.02, (n, 2))
    return x, label.astype(np.float64)


def train(layers: Layers, steps: int, seed: int, lr: float = 3e-3) -> tuple[Layers, float]:
    """Fit the spirals with the given initial hidden layers plus a linear read-out (Adam, full batch, BCE).

    Returns the trained hidden layers and the training accuracy.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    for w, b in layers:
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin, nn.ReLU()]
    mods.append(nn.Linear(layers[-1][0].shape[0], 1).double())
    net = nn.Sequential(*mods)
    x, y = (torch.from_numpy(a) for a in spirals(1000, seed))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(net(x)[:, 0], y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = float(((net(x)[:, 0] > 0).double() == y).double().mean())
    return layers_from_torch(net), acc


def budget_study(budget: int, *, sigma_b: float = 0.5, seed: int = 0, train_steps: int = 0,
                 max_depth: int = 8) -> list[BudgetRow]:
    """Exact regions on [-1, 1]^2 of every depth x width with `budget` neurons, He init (and trained)."""
    rows = []
    for widths in architectures(budget, max_depth):
        init = random_layers(widths, 2, sigma_w=HE_SIGMA_W, sigma_b=sigma_b, seed=seed)
        trained, acc = train(init, train_steps, seed) if train_steps > 0 else (None, None)
        rows.append(BudgetRow(widths, count_plane(init, SQUARE).count,
                              count_plane(trained, SQUARE).count if trained is not None else None,
                              acc, serra_bound(widths, 2), init, trained))
    return rows


@dataclass
class ScanResult:
    """Mean regions along the diagonal of [-1, 1]^2, per depth, against total neurons."""

    depths: list[int]
    neurons: list[int]
    mean_regions: dict[int, list[float]]
    max_regions: dict[int, list[int]]
    slope: dict[int, float]  # least-squares (regions - 1) / neurons through the origin, per depth
    seeds: int
    length: float


def line_scan(depths: tuple[int, ...] = (1, 2, 4, 8), neurons: tuple[int, ...] = (16, 32, 64, 128, 256), *,
              seeds: int = 5, sigma_b: float = 0.5) -> ScanResult:
    """Hanin & Rolnick's experiment: exact regions along the segment (-1, -1) -> (1, 1), He init."""
    start, end = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    mean, best, slope = {}, {}, {}
    for d in depths:
        mean[d], best[d] = [], []
        for n in neurons:
            widths = [max(1, n // d)] * d
            counts = [count_line(random_layers(widths, 2, sigma_w=HE_SIGMA_W, sigma_b=sigma_b, seed=s),
                                 start, end).count for s in range(seeds)]
            mean[d].append(float(np.mean(counts)))
            best[d].append(serra_bound(widths, 1))  # a segment is a 1-input network: prod(n_l + 1)
        nn_ = np.array(neurons, float)
        slope[d] = float(np.dot(nn_, np.array(mean[d]) - 1) / np.dot(nn_, nn_))
    return ScanResult(list(depths), list(neurons), mean, best, slope, seeds, float(np.linalg.norm(end - start)))
