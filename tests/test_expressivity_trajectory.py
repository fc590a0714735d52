"""Trajectory length and curvature against mean-field theory; the order-to-chaos transition."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gankit.expressivity import meanfield
from gankit.expressivity.phase import log_stretch, make_probe, measured_critical_sigma_w
from gankit.expressivity.trajectory import growth_rate, theory, trace_circle


def test_mean_field_fixed_point_and_critical_line() -> None:
    q = meanfield.q_star("tanh", 2.5, 0.3)
    assert float(meanfield.length_map("tanh", q, 2.5, 0.3)) == pytest.approx(q, rel=1e-10)
    assert meanfield.critical_sigma_w("tanh", 0.3) == pytest.approx(1.396, abs=5e-4)  # Poole et al. 2016
    assert meanfield.critical_sigma_w("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)  # chi_1 = sigma_w^2 at q* = 0
    assert meanfield.critical_sigma_w("relu", 0.7) == pytest.approx(math.sqrt(2), abs=1e-9)  # chi_1 = sigma_w^2 / 2
    chi = [meanfield.chi("tanh", w, 0.3)[0] for w in (0.8, 1.2, 1.6, 2.4)]
    assert chi == sorted(chi) and chi[0] < 1 < chi[-1]


def test_tanh_moments_against_a_fine_quadrature() -> None:
    z = np.linspace(-12, 12, 400_001)
    w = np.exp(-z * z / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    for q in (1e-4, 0.7, 4.0, 25.0):
        t = np.tanh(math.sqrt(q) * z)
        want = ((t * t) @ w, ((1 - t * t) ** 2) @ w, ((2 * t * (1 - t * t)) ** 2) @ w)
        got = meanfield.activation("tanh").moments(np.array(q))
        assert np.allclose(got, want, rtol=1e-4)


def test_hardtanh_moments_against_monte_carlo() -> None:
    z = np.random.default_rng(0).standard_normal(2_000_000)
    for q in (0.3, 2.0):
        h = math.sqrt(q) * z
        got = meanfield.activation("hardtanh").moments(np.array(q))
        assert float(got[0]) == pytest.approx(np.mean(np.clip(h, -1, 1) ** 2), rel=5e-3)
        assert float(got[1]) == pytest.approx(np.mean(np.abs(h) < 1), rel=5e-3)


def test_growth_rate_of_a_geometric_sequence() -> None:
    assert growth_rate([5.0, 2.0, 2.0 * 1.3, 2.0 * 1.3**2, 2.0 * 1.3**3]) == pytest.approx(1.3)


def test_input_circle_is_measured_exactly() -> None:
    tr = trace_circle("tanh", 50, 2, 1.5, 0.3, seed=0)
    assert tr.length[0] == pytest.approx(2 * math.pi * tr.radius, rel=1e-3)
    assert tr.curvature[0] == pytest.approx(2 * math.pi, rel=1e-9)  # a planar convex closed curve turns 2 pi
    assert tr.curvature[1] == pytest.approx(2 * math.pi, rel=1e-9)  # layer 1 is a linear image: an ellipse
    assert tr.converged and tr.length_change < 1e-3


def test_refinement_converges() -> None:
    coarse = trace_circle("tanh", 100, 4, 2.5, 0.3, seed=1, rtol=1e-2)
    fine = trace_circle("tanh", 100, 4, 2.5, 0.3, seed=1, rtol=1e-4)
    assert fine.n_points > coarse.n_points
    for a, b in zip(coarse.length, fine.length):
        assert a == pytest.approx(b, rel=1e-2)
    for a, b in zip(coarse.curvature, fine.curvature):
        assert a == pytest.approx(b, rel=3e-2)


@pytest.mark.parametrize("act", ["relu", "hardtanh"])
def test_kinks_are_counted_whole(act: str) -> None:
    """Piecewise-linear nets: every kink is a vertex, so the curvature does not depend on the tolerance."""
    a = trace_circle(act, 10, 3, 2.0, 0.3, seed=0, rtol=1e-2)
    b = trace_circle(act, 10, 3, 2.0, 0.3, seed=0, rtol=1e-5)
    assert a.converged and b.converged
    for x, y in zip(a.curvature, b.curvature):
        assert x == pytest.approx(y, rel=1e-2)


def test_chaotic_length_grows_by_sqrt_chi1_at_width_1000() -> None:
    """Poole et al. 2016: the length grows by sqrt(chi_1) per layer in the large-width limit."""
    tr = trace_circle("tanh", 1000, 4, 2.5, 0.3, seed=0)
    th = theory(tr)
    assert th["chi_1"] > 1.5
    assert growth_rate(tr.length) == pytest.approx(th["rate"], rel=0.1)
    assert tr.curvature[-1] == pytest.approx(th["curvature"][-1], rel=0.1)  # the curvature recursion too
    assert tr.curvature[-1] > 5 * tr.curvature[1]


def test_ordered_length_shrinks_at_width_1000() -> None:
    tr = trace_circle("tanh", 1000, 4, 0.8, 0.3, seed=0)
    th = theory(tr)
    assert th["rate"] < 0.75
    assert all(b < a for a, b in zip(tr.length[1:], tr.length[2:]))
    assert growth_rate(tr.length) == pytest.approx(th["rate"], rel=0.1)


def test_measured_critical_sigma_w_at_sigma_b_03() -> None:
    probe = make_probe("tanh", 500, 30, seed=0)
    assert log_stretch(probe, 1.0, 0.3) < 0 < log_stretch(probe, 2.0, 0.3)
    assert measured_critical_sigma_w(probe, 0.3) == pytest.approx(1.396, abs=0.05)


def test_relu_length_rate_and_raghu_bound() -> None:
    tr = trace_circle("relu", 100, 4, 2.0, 0.3, seed=0)
    th = theory(tr)
    assert th["rate"] == pytest.approx(2.0 / math.sqrt(2))
    assert growth_rate(tr.length) == pytest.approx(th["rate"], rel=0.1)
    # Raghu et al.'s rate sigma_w sqrt(k / (k + 1)) sits above the typical sigma_w / sqrt(2): their O() hides a constant
    assert th["raghu_rate"] == pytest.approx(2.0 * math.sqrt(100 / 101))
