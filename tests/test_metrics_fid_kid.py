"""FID and KID against answers known in closed form."""
from __future__ import annotations

import math

import pytest
import torch

from gankit.metrics.fid import fid_from_features, frechet_distance, gaussian_stats
from gankit.metrics.kid import kid, mmd2_unbiased, polynomial_kernel
from gankit.registry import METRICS


def _spd(d: int, seed: int) -> torch.Tensor:
    a = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def _sqrtm(s: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(s)
    return (v * w.sqrt()) @ v.T


def test_fid_of_a_set_with_itself_is_zero() -> None:
    x = torch.randn(3000, 64, generator=torch.Generator().manual_seed(0)) * 3 + 1
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    assert METRICS.get("fid").formula is fid_from_features  # registered by name


def test_fid_commuting_covariances_closed_form() -> None:
    # Diagonal covariances commute: FID = |dmu|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 0.25])
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, -1.0])
    expected = float((mu1 - mu2).square().sum() + (a.sqrt() - b.sqrt()).square().sum())
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_fid_general_covariances_match_the_definition() -> None:
    # tr((S1 S2)^(1/2)) by the other route: sqrt of S2^(1/2) S1 S2^(1/2) (the roles swapped).
    s1, s2 = _spd(6, 1), _spd(6, 2)
    mu1, mu2 = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    r2 = _sqrtm(s2)
    expected = float(6 + torch.trace(s1) + torch.trace(s2) - 2 * torch.trace(_sqrtm(r2 @ s1 @ r2)))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-10)  # symmetric


def test_fid_between_sampled_gaussians_converges_to_the_closed_form() -> None:
    g = torch.Generator().manual_seed(3)
    s1, s2 = _spd(4, 5), _spd(4, 6)
    mu1, mu2 = torch.zeros(4, dtype=torch.float64), torch.tensor([0.5, 0.0, -0.5, 1.0], dtype=torch.float64)
    x = mu1 + torch.randn(200_000, 4, generator=g, dtype=torch.float64) @ _sqrtm(s1)
    y = mu2 + torch.randn(200_000, 4, generator=g, dtype=torch.float64) @ _sqrtm(s2)
    exact = frechet_distance(mu1, s1, mu2, s2)
    assert fid_from_features(x, y) == pytest.approx(exact, rel=0.02)
    _, cov = gaussian_stats(x)
    assert torch.allclose(cov, s1, atol=0.02)


def test_fid_is_float64_stable_for_nearly_singular_covariances() -> None:
    # Rank-deficient features (more dimensions than samples): eigenvalues ~ -1e-15 must not give NaN.
    # The square roots of those round-off eigenvalues (~3e-8 each) leave an error of ~1e-6 here;
    # with 10,000 samples of 128-d features the covariances are full rank and FID(X, X) is 0 to 1e-9.
    x = torch.randn(50, 128, generator=torch.Generator().manual_seed(4))
    value = fid_from_features(x, x + 0.01)
    assert math.isfinite(value) and value == pytest.approx(128 * 0.01**2, abs=1e-5)


def _moments(m: float, s: float) -> tuple[float, float, float]:
    """E[x], E[x^2], E[x^3] of N(m, s^2)."""
    return m, m * m + s * s, m**3 + 3 * m * s * s


def _expected_kernel(p: tuple[float, float], q: tuple[float, float]) -> float:
    # d = 1: k(x, y) = (xy + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 x y + 1, x and y independent.
    a, b = _moments(*p), _moments(*q)
    return a[2] * b[2] + 3 * a[1] * b[1] + 3 * a[0] * b[0] + 1


def test_kid_estimator_is_unbiased_in_closed_form() -> None:
    p, q = (0.0, 1.0), (0.5, 1.0)
    truth = _expected_kernel(p, p) + _expected_kernel(q, q) - 2 * _expected_kernel(p, q)
    g = torch.Generator().manual_seed(7)
    m, reps = 20, 4000
    values = torch.tensor([mmd2_unbiased(torch.randn(m, 1, generator=g) * p[1] + p[0],
                                         torch.randn(m, 1, generator=g) * q[1] + q[0]) for _ in range(reps)])
    se = float(values.std()) / math.sqrt(reps)
    assert abs(float(values.mean()) - truth) < 4 * se
    # The biased (V-statistic) estimator, with the diagonal kept, misses by far more: the test can fail.
    def biased(x: torch.Tensor, y: torch.Tensor) -> float:
        return float(polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean() - 2 * polynomial_kernel(x, y).mean())
    g = torch.Generator().manual_seed(7)
    v_biased = torch.tensor([biased(torch.randn(m, 1, generator=g) * p[1] + p[0],
                                    torch.randn(m, 1, generator=g) * q[1] + q[0]) for _ in range(reps)])
    assert abs(float(v_biased.mean()) - truth) > 10 * se


def test_kid_of_two_samples_of_one_distribution_is_about_zero() -> None:
    g = torch.Generator().manual_seed(8)
    x, y = torch.randn(3000, 32, generator=g), torch.randn(3000, 32, generator=g)
    mean, std = kid(x, y, subset_size=500, n_subsets=50, generator=torch.Generator().manual_seed(0))
    assert abs(mean) < 3 * std / math.sqrt(50) + 1e-4
    shifted, _ = kid(x + 0.3, y, subset_size=500, n_subsets=50, generator=torch.Generator().manual_seed(0))
    assert shifted > 20 * std  # a real difference is far outside the noise
    assert kid(x, y, 500, 10, torch.Generator().manual_seed(1)) == kid(x, y, 500, 10, torch.Generator().manual_seed(1))
