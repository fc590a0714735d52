"""The representation probes: a linear probe and 1-NN, on data whose answers are known."""
from __future__ import annotations

import torch

from gankit.metrics.probe import linear_probe, nearest_neighbour


def _blobs(n: int, seed: int, spread: float) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(4, (n,), generator=g)
    centres = torch.tensor([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [-3.0, -3.0, 0]])
    return centres[y] + spread * torch.randn(n, 3, generator=g), y


def test_separable_classes_are_found_and_noise_is_at_chance() -> None:
    xtr, ytr = _blobs(800, 0, 0.3)
    xte, yte = _blobs(400, 1, 0.3)
    assert linear_probe(xtr, ytr, xte, yte) == 1.0
    assert nearest_neighbour(xtr, ytr, xte, yte) == 1.0
    g = torch.Generator().manual_seed(2)
    noise_tr, noise_te = torch.randint(4, (800,), generator=g), torch.randint(4, (400,), generator=g)
    assert 0.15 < linear_probe(xtr, noise_tr, xte, noise_te) < 0.35  # labels unrelated to features: 1/4
    assert 0.15 < nearest_neighbour(xtr, noise_tr, xte, noise_te) < 0.35


def test_probe_ignores_feature_scale_and_is_deterministic() -> None:
    xtr, ytr = _blobs(600, 3, 1.5)
    xte, yte = _blobs(300, 4, 1.5)
    a = linear_probe(xtr, ytr, xte, yte)
    assert a == linear_probe(xtr, ytr, xte, yte)
    scale = torch.tensor([1e3, 1.0, 1e-3])  # standardised first: units do not matter
    assert abs(linear_probe(xtr * scale, ytr, xte * scale, yte) - a) < 0.01
    assert nearest_neighbour(xtr * scale, ytr, xte * scale, yte) == nearest_neighbour(xtr, ytr, xte, yte)


def test_nearest_neighbour_chunks_agree_with_brute_force() -> None:
    xtr, ytr = _blobs(300, 5, 2.0)
    xte, yte = _blobs(2500, 6, 2.0)  # more test rows than one chunk
    mean, std = xtr.mean(0), xtr.std(0)
    d = torch.cdist((xte - mean) / std, (xtr - mean) / std)
    expected = (ytr[d.argmin(1)] == yte).float().mean().item()
    assert abs(nearest_neighbour(xtr, ytr, xte, yte) - expected) < 1e-3
