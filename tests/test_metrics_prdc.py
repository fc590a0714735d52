"""Precision, recall, density, coverage on point sets whose answers are known by construction."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.metrics import prdc as prdc_mod
from gankit.metrics.prdc import kth_neighbour_radii, prdc


def _col(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[:, None]


def test_hand_computed_1d_example() -> None:
    # real 0..9 with k=1: every real ball has radius 1. Fakes 0.2 and 4.5 sit in two balls each;
    # 20 and 21 are far away. Fake radii (k=1): 4.3, 4.3, 1, 1 -> the first two cover reals 0..8.
    real = _col([float(i) for i in range(10)])
    fake = _col([0.2, 4.5, 20.0, 21.0])
    out = prdc(fake, real, k=1)
    assert out["precision"] == pytest.approx(2 / 4)
    assert out["density"] == pytest.approx(4 / (1 * 4))
    assert out["coverage"] == pytest.approx(4 / 10)  # reals 0, 1, 4, 5 hold a fake
    assert out["recall"] == pytest.approx(9 / 10)  # reals 0..8 lie in a fake ball


def test_identical_sets_and_disjoint_sets() -> None:
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(0))
    same = prdc(x, x, k=5)
    # Each real ball holds itself and its k-1 nearest (strict < excludes the k-th): density is exactly 1.
    assert same == pytest.approx({"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0})
    far = prdc(x + 100.0, x, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_half_of_the_modes_gives_full_precision_and_half_coverage() -> None:
    g = torch.Generator().manual_seed(1)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = torch.cat([c + 0.5 * torch.randn(400, 2, generator=g) for c in centres])
    fake = torch.cat([c + 0.5 * torch.randn(800, 2, generator=g) for c in centres[:2]])  # two modes dropped
    out = prdc(fake, real)
    assert out["precision"] > 0.95 and out["density"] > 0.8
    assert out["coverage"] == pytest.approx(0.5, abs=0.03) and out["recall"] == pytest.approx(0.5, abs=0.03)


def _brute_force(fake: np.ndarray, real: np.ndarray, k: int) -> dict[str, float]:
    """The reference implementation's formulas on full distance matrices (no blocks)."""
    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    r_real = np.partition(dist(real, real), k, axis=1)[:, k]
    r_fake = np.partition(dist(fake, fake), k, axis=1)[:, k]
    d = dist(real, fake)  # (N, M)
    return {"precision": float((d < r_real[:, None]).any(0).mean()),
            "recall": float((d < r_fake[None, :]).any(1).mean()),
            "density": float((d < r_real[:, None]).sum(0).mean() / k),
            "coverage": float((d.min(1) < r_real).mean())}


def test_blocks_match_the_full_matrix_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prdc_mod, "_BLOCK", 64)  # several blocks with a ragged last one
    g = torch.Generator().manual_seed(2)
    real = torch.randn(300, 5, generator=g, dtype=torch.float64)
    fake = 0.8 * torch.randn(250, 5, generator=g, dtype=torch.float64) + 0.3
    assert prdc(fake, real, k=5) == pytest.approx(_brute_force(fake.numpy(), real.numpy(), 5), abs=1e-12)
    full = np.sqrt(((real.numpy()[:, None] - real.numpy()[None]) ** 2).sum(-1))
    assert torch.allclose(kth_neighbour_radii(real, 3), torch.from_numpy(np.sort(full, 1)[:, 3]))
