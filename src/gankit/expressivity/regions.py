"""Exact counting of the activation regions of a ReLU network on a segment and on a 2-D slice.

What is counted: *activation regions*, the connected sets of inputs on which every hidden neuron
keeps one on/off state (Hanin & Rolnick 2019). Each is convex (fixing the pattern makes every
pre-activation affine, and the region is an intersection of half-spaces), the network is affine
on it, and so the number of *linear regions* (maximal pieces where the function is affine,
Serra et al. 2018) is at most this count: neighbours with equal affine maps are not merged.

Method (exact up to a relative tolerance of 1e-9 for degenerate, measure-zero cuts):
  segment: layer by layer, every piece carries the affine pre-activations of the next layer;
           each neuron whose sign differs at the two ends of a piece cuts it at its root.
  plane:   recursive cutting of convex polygons. A polygon carries the values of the next
           layer's pre-activations at its vertices (they are affine in the input on it, so a
           cut vertex gets the linearly interpolated values, exactly); each neuron of that layer
           whose values change sign over the vertices cuts the polygon along its zero line.
Neither method samples: a region of any size is found. `count_grid_*` samples a dense grid of
activation patterns (it can only miss regions) as the cross-check.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gankit.expressivity.networks import Layers, patterns, restrict

_EPS = 1e-9  # cuts closer than this (relative) to a vertex are degenerate and ignored


@dataclass(frozen=True)
class LineRegions:
    """Regions of the segment start + t (end - start), t in [0, 1]: breaks[0] = 0 < ... < breaks[-1] = 1."""

    breaks: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def count(self) -> int:
        return len(self.breaks) - 1

    def points(self, t: np.ndarray) -> np.ndarray:
        """Input-space points (m, n_0) at parameters t."""
        return self.start + np.asarray(t)[:, None] * (self.end - self.start)


@dataclass(frozen=True)
class PlaneRegions:
    """Convex polygons (vertices (m, 2) in slice coordinates, in order) that tile `bounds`."""

    polygons: list[np.ndarray]
    bounds: tuple[float, float, float, float]

    @property
    def count(self) -> int:
        return len(self.polygons)

    def areas(self) -> np.ndarray:
        """Shoelace area of every polygon."""
        return np.array([0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))
                         for p in self.polygons])

    def interior_points(self) -> np.ndarray:
        """The vertex average of each polygon: an interior point of a convex polygon."""
        return np.array([p.mean(axis=0) for p in self.polygons])


def count_line(layers: Layers, start: np.ndarray | float = -1.0, end: np.ndarray | float = 1.0) -> LineRegions:
    """Exact activation regions of `layers` along the segment [start, end] of input space."""
    start, end = np.atleast_1d(np.asarray(start, float)), np.atleast_1d(np.asarray(end, float))
    net = restrict(layers, start, (end - start)[None, :])  # a network of t in [0, 1]
    t0, t1 = np.zeros(1), np.ones(1)
    h0, h1 = np.zeros((1, 1)), np.ones((1, 1))  # layer input at both ends of every piece
    for w, b in net:
        z0, z1 = h0 @ w.T + b, h1 @ w.T + b
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = z0 / (z0 - z1)
        cuts = (z0 * z1 < 0) & (frac > _EPS) & (frac < 1 - _EPS)
        piece, neuron = np.nonzero(cuts)
        n = len(t0)
        ids = np.concatenate([np.arange(n), np.arange(n), piece])
        fr = np.concatenate([np.zeros(n), np.ones(n), frac[piece, neuron]])
        order = np.lexsort((fr, ids))
        ids, fr = ids[order], fr[order]
        same = ids[:-1] == ids[1:]  # consecutive fractions of one piece bound a sub-piece
        p, fa, fb = ids[:-1][same], fr[:-1][same][:, None], fr[1:][same][:, None]
        za = z0[p] + fa * (z1[p] - z0[p])
        zb = z0[p] + fb * (z1[p] - z0[p])
        t0, t1 = t0[p] + fa[:, 0] * (t1[p] - t0[p]), t0[p] + fb[:, 0] * (t1[p] - t0[p])
        on = (za + zb) > 0  # the sign at the sub-piece's midpoint
        h0, h1 = za * on, zb * on
    return LineRegions(np.append(t0, t1[-1]), start, end)


_NEXT: dict[int, np.ndarray] = {}


def _cut(poly: np.ndarray, col: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Split a convex polygon (rows: x, y, values...) along values[:, col] = 0; None if it does not cross.

    Vertices within the tolerance of the line go to both halves; each strictly crossing edge gets
    a new vertex whose values are interpolated linearly (exact: the values are affine there).
    """
    v = poly[:, col]
    vmax, vmin = v.max(), v.min()
    tol = _EPS * max(vmax, -vmin)
    if vmax <= tol or vmin >= -tol:
        return None
    m = len(v)
    nxt = _NEXT.get(m)
    if nxt is None:
        nxt = _NEXT[m] = np.roll(np.arange(m), -1)
    s = (v > tol).astype(np.int8) - (v < -tol)
    cross = s * s[nxt] < 0
    a, b = poly[cross], poly[nxt[cross]]
    va = a[:, col:col + 1]
    x = a + va / (va - b[:, col:col + 1]) * (b - a)
    x[:, col] = 0.0
    # Rows in boundary order: vertex i, then the new vertex on edge (i, i+1) if that edge crosses.
    at = np.arange(m) + np.concatenate(([0], np.cumsum(cross)[:-1]))
    both = np.empty((m + len(x), poly.shape[1]))
    both[at] = poly
    both[at[cross] + 1] = x
    side = np.zeros(len(both), np.int8)
    side[at] = s
    return both[side >= 0], both[side <= 0]


def count_plane(layers: Layers, bounds: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0),
                origin: np.ndarray | None = None, basis: np.ndarray | None = None) -> PlaneRegions:
    """Exact activation regions on the rectangle `bounds` of the slice origin + basis^T (s1, s2).

    A 2-input network needs no slice (origin 0, basis identity); basis has shape (2, n_0).
    Polygons are kept stacked (all vertices in one array, `sizes` per polygon) so that the
    per-layer algebra is vectorised and Python only loops over the polygons that get cut.
    """
    n0 = layers[0][0].shape[1]
    if basis is None:
        if n0 != 2:
            raise ValueError(f"a {n0}-input network needs a slice: pass origin and basis (2, {n0})")
        origin, basis = np.zeros(2), np.eye(2)
    net = restrict(layers, np.zeros(n0) if origin is None else np.asarray(origin, float), np.asarray(basis, float))
    x0, x1, y0, y1 = bounds
    xy = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    h, sizes = xy, np.array([4])  # h: the layer input at every vertex
    for w, b in net:
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        z = h @ w.T + b
        zmax, zmin = np.maximum.reduceat(z, starts), np.minimum.reduceat(z, starts)
        crossing = (zmax > _EPS * np.maximum(zmax, -zmin)) & (zmin < -_EPS * np.maximum(zmax, -zmin))
        cut_any = crossing.any(axis=1)
        keep = np.repeat(~cut_any, sizes)  # polygons that no neuron of this layer cuts stay as they are
        out_rows, out_sizes = [np.hstack([xy[keep], z[keep]])], [sizes[~cut_any]]
        for i in np.flatnonzero(cut_any):
            pieces = [np.hstack([xy[starts[i]:starts[i] + sizes[i]], z[starts[i]:starts[i] + sizes[i]]])]
            for j in np.flatnonzero(crossing[i]):
                nxt = []
                for piece in pieces:
                    cut = _cut(piece, 2 + j)
                    nxt.extend((piece,) if cut is None else cut)
                pieces = nxt
            out_rows.extend(pieces)
            out_sizes.append(np.array([len(p) for p in pieces]))
        rows, sizes = np.concatenate(out_rows), np.concatenate(out_sizes)
        xy, z = rows[:, :2], rows[:, 2:]
        # The sign at the vertex average (an interior point of a convex polygon) is the neuron's state.
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        on = np.add.reduceat(z, starts) > 0
        h = z * np.repeat(on, sizes, axis=0)
    polygons = np.split(xy, np.cumsum(sizes)[:-1])
    return PlaneRegions(polygons, (float(x0), float(x1), float(y0), float(y1)))


def distinct(pats: np.ndarray) -> int:
    """Number of distinct rows of a bool pattern matrix."""
    packed = np.packbits(pats, axis=1)
    return len(np.unique(packed, axis=0))


def count_grid_line(layers: Layers, start: np.ndarray | float = -1.0, end: np.ndarray | float = 1.0,
                    samples: int = 100_001) -> int:
    """Cross-check: distinct activation patterns at `samples` evenly spaced points of the segment."""
    start, end = np.atleast_1d(np.asarray(start, float)), np.atleast_1d(np.asarray(end, float))
    t = np.linspace(0.0, 1.0, samples)
    return distinct(patterns(layers, start + t[:, None] * (end - start)))


def count_grid_plane(layers: Layers, bounds: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0),
                     resolution: int = 1000) -> int:
    """Cross-check: distinct activation patterns on a resolution x resolution grid of a 2-input network."""
    return distinct(grid_patterns(layers, bounds, resolution))


def grid_patterns(layers: Layers, bounds: tuple[float, float, float, float], resolution: int) -> np.ndarray:
    """Activation patterns (resolution^2, neurons) of a 2-input network on a grid, rows = y then x."""
    xs = np.linspace(bounds[0], bounds[1], resolution)
    ys = np.linspace(bounds[2], bounds[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    chunks = [patterns(layers, np.stack([gx.ravel()[i:i + 65536], gy.ravel()[i:i + 65536]], 1))
              for i in range(0, resolution * resolution, 65536)]
    return np.concatenate(chunks)
