"""Exact region counting: the constructions reach their theoretical counts, and the exact counters
agree with dense sampling of activation patterns on small random networks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.expressivity import constructions as C
from gankit.expressivity import folding
from gankit.expressivity.networks import layers_from_torch, patterns, random_layers
from gankit.expressivity.regions import (
    count_grid_line,
    count_line,
    count_plane,
    distinct,
    grid_patterns,
)
from gankit.expressivity.studies import architectures, budget_study, line_scan


@pytest.mark.parametrize("depth", range(1, 13))
def test_sawtooth_folds_line_into_2_to_the_depth(depth: int) -> None:
    con = C.sawtooth(depth)
    assert count_line(con.layers, 0.0, 1.0).count == 2**depth == con.expected
    x = np.linspace(0, 1, 2**depth + 1)[:, None]  # the tent map composed L times: 0, 1, 0, 1, ... at k / 2^L
    assert np.allclose(C.evaluate(con, x), np.arange(2**depth + 1) % 2)


@pytest.mark.parametrize("depth", range(1, 7))
def test_sawtooth_in_2d_makes_strips(depth: int) -> None:
    con = C.sawtooth(depth, input_dim=2)
    assert count_plane(con.layers, con.bounds).count == 2**depth


@pytest.mark.parametrize("k", range(1, 21))
def test_one_layer_general_position(k: int) -> None:
    con = C.one_layer(k, 2)
    assert count_plane(con.layers, con.bounds).count == 1 + k + math.comb(k, 2) == con.expected
    con1 = C.one_layer(k, 1)
    assert count_line(con1.layers, -1.0, 1.0).count == k + 1


@pytest.mark.parametrize("widths", [[3], [3, 3], [4, 5, 3], [3, 3, 3, 3, 1], [5, 5, 5, 2], [3] * 6, [4] * 5, [7, 3]])
def test_serra_reaches_product_of_widths_plus_one(widths: list[int]) -> None:
    con = C.serra(widths)
    n = count_line(con.layers, 0.0, 1.0).count
    assert n == math.prod(w + 1 for w in widths) == con.expected == C.serra_bound(widths, 1)
    assert count_plane(C.serra(widths[:3], 2).layers, con.bounds).count == math.prod(w + 1 for w in widths[:3])


def test_serra_bound_known_values() -> None:
    assert C.serra_bound([5], 2) == 1 + 5 + 10  # one layer: Zaslavsky's count
    assert C.serra_bound([1, 1, 1], 1) == 4  # width 1 is a bottleneck: no folding
    assert C.serra_bound([4, 4], 1) == 25
    assert C.serra_bound([2, 8], 2) < C.serra_bound([8, 2], 2)  # a narrow first layer limits what follows


def test_constructions_refuse_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="width >= 3|widths >= 3"):
        C.serra([2, 2])
    with pytest.raises(ValueError, match="width 2"):
        C.build("sawtooth", 3, 4, 1)
    with pytest.raises(ValueError, match="depth 1"):
        C.build("one-layer", 2, 4, 2)


def _polygon_width(p: np.ndarray) -> float:
    """Smallest extent of a convex polygon over its edge normals (its minimal width)."""
    edges = np.roll(p, -1, axis=0) - p
    normals = np.stack([-edges[:, 1], edges[:, 0]], 1) / np.linalg.norm(edges, axis=1, keepdims=True)
    proj = p @ normals.T
    return float((proj.max(0) - proj.min(0)).min())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("widths", [[6, 6], [8, 8, 8], [5] * 5])
def test_plane_counter_matches_dense_grid(seed: int, widths: list[int]) -> None:
    layers = random_layers(widths, 2, sigma_w=math.sqrt(2), sigma_b=0.5, seed=seed)
    regions = count_plane(layers)
    assert regions.areas().sum() == pytest.approx(4.0, rel=1e-9)  # the polygons tile the square
    exact = patterns(layers, regions.interior_points())
    assert distinct(exact) == regions.count  # one region per activation pattern
    # every polygon is one region: random interior points all carry its pattern
    rng = np.random.default_rng(seed)
    for poly, pat in zip(regions.polygons, exact):
        mix = rng.dirichlet(np.ones(len(poly)), size=3)
        assert (patterns(layers, mix @ poly) == pat).all()
    res = 600
    grid = {r.tobytes() for r in np.packbits(grid_patterns(layers, regions.bounds, res), axis=1)}
    exact_set = [r.tobytes() for r in np.packbits(exact, axis=1)]
    assert grid <= set(exact_set)  # the grid finds nothing the exact count missed
    assert len(grid) >= 0.9 * regions.count
    spacing = 2.0 / (res - 1)
    for poly, key in zip(regions.polygons, exact_set):
        if key not in grid:  # a region the grid misses must be thinner than the grid can see
            assert _polygon_width(poly) < 2.5 * spacing


@pytest.mark.parametrize("seed", range(4))
def test_line_counter_matches_dense_sampling(seed: int) -> None:
    layers = random_layers([12, 12, 12, 12], 3, sigma_w=math.sqrt(2), sigma_b=0.5, seed=seed)
    start, end = np.array([-1.0, 0.5, -1.0]), np.array([1.0, -0.2, 1.0])
    line = count_line(layers, start, end)
    mids = (line.breaks[:-1] + line.breaks[1:]) / 2
    exact = patterns(layers, line.points(mids))
    assert (exact[1:] != exact[:-1]).any(axis=1).all()  # neighbours differ
    assert distinct(exact) == line.count  # activation regions are convex: a pattern meets a line once
    samples = 100_001
    t = np.linspace(0, 1, samples)
    sampled = {r.tobytes() for r in np.packbits(patterns(layers, line.points(t)), axis=1)}
    keys = [r.tobytes() for r in np.packbits(exact, axis=1)]
    assert sampled <= set(keys)
    lengths = np.diff(line.breaks)
    missed = np.array([k not in sampled for k in keys])
    assert (lengths[missed] < 1.0 / (samples - 1)).all()
    if lengths.min() > 2.0 / (samples - 1):
        assert count_grid_line(layers, start, end, samples) == line.count


def test_counters_agree_on_a_line_in_the_plane() -> None:
    """The plane counter's polygons cut by the x_2 = 0.3 line give the line counter's regions."""
    layers = random_layers([10, 10, 10], 2, sigma_w=math.sqrt(2), sigma_b=0.5, seed=7)
    line = count_line(layers, np.array([-1.0, 0.3]), np.array([1.0, 0.3]))
    plane = count_plane(layers)
    crossing = sum(1 for p in plane.polygons if p[:, 1].min() < 0.3 < p[:, 1].max())
    assert crossing == line.count


def test_layers_from_torch_keeps_the_patterns() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 7), torch.nn.ReLU(), torch.nn.Linear(7, 5), torch.nn.ReLU(),
                              torch.nn.Linear(5, 1)).double()
    layers = layers_from_torch(net)
    x = np.random.default_rng(0).uniform(-1, 1, (100, 2))
    with torch.no_grad():
        h1 = net[0](torch.from_numpy(x))
        h2 = net[2](torch.relu(h1))
    want = torch.cat([h1 > 0, h2 > 0], 1).numpy()
    assert (patterns(layers, x) == want).all()


def test_budget_study_and_scan_are_below_the_maximum() -> None:
    assert architectures(12) == [[12], [6, 6], [4, 4, 4], [3, 3, 3, 3], [2] * 6]
    rows = budget_study(12, train_steps=30)
    for r in rows:
        assert 1 <= r.regions_init <= r.bound and 1 <= r.regions_trained <= r.bound
        assert 0.0 <= r.accuracy <= 1.0
    assert rows[0].regions_init <= 1 + 12 + math.comb(12, 2)
    scan = line_scan(depths=(1, 2), neurons=(8, 16, 32), seeds=3)
    for d in (1, 2):
        assert all(1 <= m <= b for m, b in zip(scan.mean_regions[d], scan.max_regions[d]))
        assert scan.mean_regions[d][-1] > scan.mean_regions[d][0]  # more neurons, more regions
        assert scan.slope[d] > 0


@pytest.mark.parametrize("n", range(1, 13))
def test_dragon_curve_doubles_with_each_fold(n: int) -> None:
    path = folding.dragon(n)
    steps = np.diff(path, axis=0)
    assert len(steps) == 2**n and (np.abs(steps).sum(axis=1) == 1).all()
    assert folding.distinct_edges(path) == 2**n  # the unfolded strip never runs along itself


def test_paperfolding_turns() -> None:
    assert folding.turns(3).tolist() == [1, 1, -1, 1, 1, -1, -1]
    t4 = folding.turns(4)
    assert t4[:7].tolist() == folding.turns(3).tolist() and t4[7] == 1  # the old strip, the new middle crease, ...
    assert t4[8:].tolist() == (-folding.turns(3)[::-1]).tolist()  # ... and the old strip, reversed and flipped
