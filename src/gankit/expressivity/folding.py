"""Paper folding: the dragon curve, the picture behind "depth doubles the pieces".

Fold a strip of paper in half n times, always the same way, and open every crease to 90 degrees:
the strip becomes the Heighway dragon, a path of 2^n unit segments that never reuses an edge.
Each fold doubles the segments, as each layer of the sawtooth network doubles its linear pieces
(`constructions.sawtooth`): both are compositions of the same "fold in two" map. Folds made in
parallel instead, k straight creases across a sheet at once (one wide layer), make at most
1 + k + C(k, 2) pieces.

Turn k (k = 1 .. 2^n - 1) of the unfolded strip is the regular paperfolding sequence: write
k = 2^a (2b + 1); the turn is left when b is even and right when b is odd.
"""
from __future__ import annotations

import numpy as np


def turns(folds: int) -> np.ndarray:
    """The 2^folds - 1 turns of the unfolded strip: +1 left, -1 right."""
    k = np.arange(1, 2**folds, dtype=np.int64)
    odd_part = k // (k & -k)  # 2b + 1
    return np.where((odd_part // 2) % 2 == 0, 1, -1)


def dragon(folds: int) -> np.ndarray:
    """Vertices (2^folds + 1, 2) of the dragon curve: unit steps starting east from the origin."""
    heading = np.concatenate([[0], np.cumsum(turns(folds))]) % 4  # quarter turns from east
    steps = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])[heading]
    return np.vstack([[0, 0], np.cumsum(steps, axis=0)])


def distinct_edges(path: np.ndarray) -> int:
    """Number of distinct undirected unit edges of a lattice path (= segments if no edge is reused)."""
    a, b = path[:-1], path[1:]
    lo = np.where((a[:, :1] < b[:, :1]) | ((a[:, :1] == b[:, :1]) & (a[:, 1:] < b[:, 1:])), a, b)
    hi = a + b - lo
    return len(np.unique(np.hstack([lo, hi]), axis=0))
