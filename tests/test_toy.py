"""Toy 2D datasets and the VEEGAN/PacGAN mode score, checked against answers known by construction."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from gankit.config import DataConfig
from gankit.data.base import Mixture
from gankit.data.toy import DATA_SEED, grid_means, ring_means, sample_mixture
from gankit.errors import UserError
from gankit.metrics.modes import reverse_kl_uniform, score_mixture
from gankit.registry import DATASETS, METRICS

ALL = ["ring8", "grid25", "swissroll", "moons", "spiral"]
# P(|e| < 3) for e ~ N(0, I_2): |e|^2 ~ chi2 with 2 dof, whose CDF is 1 - exp(-t/2).
P_3SIGMA_2D = 1 - math.exp(-4.5)  # 0.98889


def load(name: str, **kw) -> object:
    return DATASETS.get(name)(DataConfig(name=name, **kw))


def test_registered() -> None:
    for name in ALL:
        assert name in DATASETS
    assert METRICS.get("modes").formula is score_mixture


@pytest.mark.parametrize("name", ALL)
def test_every_dataset_is_finite_float32_points(name: str) -> None:
    data = load(name, n_samples=2000)
    assert data.kind == "points"
    assert data.x.dtype == torch.float32 and data.x.shape == (2000, 2)
    assert torch.isfinite(data.x).all()
    assert data.x.abs().max() < 6  # roughly [-2, 2] .. [-4, 4] plus noise
    assert data.source
    # The pool is a function of the config alone (fixed data seed).
    assert torch.equal(data.x, load(name, n_samples=2000).x)


@pytest.mark.parametrize("name", ["swissroll", "moons", "spiral"])
def test_shapes_fill_about_their_scale(name: str) -> None:
    data = load(name, n_samples=5000)
    assert data.y is None and data.mixture is None
    half = data.x.abs().max().item()
    assert 1.5 < half < 2.5
    big = load(name, n_samples=5000, scale=4.0, sigma=0.01)
    assert 3.0 < big.x.abs().max().item() < 4.5


def test_grid25_geometry() -> None:
    data = load("grid25", n_samples=20_000)
    expected = {(float(a), float(b)) for a, b in itertools.product(range(-4, 5, 2), repeat=2)}
    got = {tuple(m) for m in data.mixture.means.tolist()}
    assert got == expected and len(data.mixture.means) == 25
    assert data.mixture.sigma == 0.05
    assert data.num_classes == 25 and data.y.dtype == torch.int64
    assert set(data.y.tolist()) == set(range(25))
    resid = data.x - data.mixture.means[data.y]
    assert resid.std().item() == pytest.approx(0.05, rel=0.03)


def test_ring8_geometry() -> None:
    data = load("ring8", n_samples=20_000)
    means = data.mixture.means
    k = torch.arange(8, dtype=torch.float64)
    expected = torch.stack([(2 * math.pi * k / 8).cos(), (2 * math.pi * k / 8).sin()], 1)
    assert torch.allclose(means.double(), expected, atol=1e-7)
    assert torch.allclose(means.norm(dim=1), torch.ones(8), atol=1e-6)
    assert data.mixture.sigma == 0.01 and data.num_classes == 8
    resid = data.x - means[data.y]
    assert resid.std().item() == pytest.approx(0.01, rel=0.03)
    # Labels are the nearest mean (modes are 76 sigma apart).
    assert torch.equal(torch.cdist(data.x, means).argmin(1), data.y)


def test_overrides() -> None:
    ring = load("ring8", n_samples=100, n_modes=6, scale=2.0, sigma=0.1)
    assert len(ring.mixture.means) == 6 and ring.num_classes == 6
    assert torch.allclose(ring.mixture.means.norm(dim=1), torch.full((6,), 2.0))
    assert ring.mixture.sigma == 0.1
    grid = load("grid25", n_samples=100, scale=1.0, sigma=0.02)
    assert sorted({v for m in grid.mixture.means.tolist() for v in m}) == [-2, -1, 0, 1, 2]
    assert grid.mixture.sigma == 0.02
    assert len(load("grid25", n_samples=100, n_modes=9).mixture.means) == 9
    assert len(load("ring8", n_samples=500, limit=120)) == 120
    with pytest.raises(UserError):
        load("grid25", n_samples=100, n_modes=8)
    with pytest.raises(UserError):
        load("moons", n_samples=100, n_modes=8)


def test_helpers() -> None:
    assert torch.equal(grid_means(5, 2.0)[:2], torch.tensor([[-4.0, -4.0], [-4.0, -2.0]]))
    assert ring_means(4, 1.0)[1].tolist() == pytest.approx([0.0, 1.0], abs=1e-7)
    assert DATA_SEED == 1234


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_true_samples_score_all_modes(name: str) -> None:
    mixture = load(name, n_samples=100).mixture
    x = sample_mixture(mixture, 20_000, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and x.shape == (20_000, 2)
    s = score_mixture(x, mixture)
    k = len(mixture.means)
    assert s["modes"] == s["n_modes"] == k and s["n_samples"] == 20_000
    # Binomial std of the fraction is ~0.0007 at N = 20,000.
    assert s["high_quality"] == pytest.approx(P_3SIGMA_2D, abs=0.004)
    # Multinomial noise alone gives KL ~ (K-1)/(2N) (< 0.001 here).
    assert 0 <= s["reverse_kl"] < 0.005
    assert "PacGAN" in s["protocol"]
    # The protocol size (2,500 samples) also captures everything.
    s2500 = score_mixture(x[:2500], mixture)
    assert s2500["modes"] == k and s2500["reverse_kl"] < 0.03


def test_all_samples_at_one_mode() -> None:
    mixture = load("ring8", n_samples=100).mixture
    x = mixture.means[3].repeat(2500, 1)
    s = score_mixture(x, mixture)
    assert s["modes"] == 1 and s["high_quality"] == 1.0
    # p = (0,0,0,1,0,0,0,0): KL(p || u) = 1 * log(1 * 8).
    assert s["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)


def test_two_modes_and_exact_kl() -> None:
    mixture = load("grid25", n_samples=100).mixture
    # 3/4 at mode 0, 1/4 at mode 7: KL = 3/4 log(3/4*25) + 1/4 log(1/4*25).
    x = torch.cat([mixture.means[0].repeat(300, 1), mixture.means[7].repeat(100, 1)])
    s = score_mixture(x, mixture)
    assert s["modes"] == 2
    assert s["reverse_kl"] == pytest.approx(0.75 * math.log(18.75) + 0.25 * math.log(6.25), abs=1e-12)
    assert reverse_kl_uniform(torch.tensor([5, 5, 0, 0])) == pytest.approx(math.log(2))
    assert reverse_kl_uniform(torch.tensor([2, 2, 2, 2])) == pytest.approx(0.0)


def test_far_points_and_threshold() -> None:
    mixture = load("grid25", n_samples=100).mixture
    far = torch.full((2500, 2), 100.0)
    s = score_mixture(far, mixture)
    assert s["modes"] == 0 and s["high_quality"] == 0.0
    assert math.isnan(s["reverse_kl"])  # no high-quality sample: p is 0/0, as in PacGAN
    # One point just inside 3 sigma captures its mode; one just outside does not.
    sigma = mixture.sigma
    inside = mixture.means[12] + torch.tensor([2.99 * sigma, 0.0])
    outside = mixture.means[4] + torch.tensor([0.0, 3.01 * sigma])
    s = score_mixture(torch.stack([inside, outside]), mixture)
    assert s["modes"] == 1 and s["high_quality"] == 0.5 and s["reverse_kl"] == pytest.approx(math.log(25))
    # Non-finite samples (a diverged generator) are never high quality.
    nan = torch.full((10, 2), float("nan"))
    assert score_mixture(nan, mixture)["high_quality"] == 0.0


def test_score_is_fast_and_shape_checked() -> None:
    mixture = load("grid25", n_samples=100).mixture
    with pytest.raises(ValueError):
        score_mixture(torch.zeros(10, 3), mixture)
    x = sample_mixture(mixture, 2500, torch.Generator().manual_seed(1))
    import time

    t0 = time.perf_counter()
    score_mixture(x, mixture)
    assert time.perf_counter() - t0 < 0.5


def test_mixture_type() -> None:
    m = Mixture(means=torch.zeros(1, 2), sigma=1.0)
    x = sample_mixture(m, 50_000, torch.Generator().manual_seed(2))
    assert x.mean().abs() < 0.02 and x.std().item() == pytest.approx(1.0, rel=0.02)
