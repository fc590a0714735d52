"""Matplotlib pictures: 2-D samples over the discriminator's surface, and curves.

Figures are built with the object-oriented `Figure` API on an Agg canvas,
never through pyplot's global figure registry, so nothing accumulates when
thousands of frames are drawn during training (no "too many figures" leak).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

# Headless machines (CI, servers) have no display; select Agg before anything
# can import pyplot and pick an interactive backend.
matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gankit.viz.grids import save_png  # noqa: E402

GRID_RES = 200  # critic evaluated on GRID_RES x GRID_RES points
_DPI = 100

Limits = tuple[float, float, float, float]


def figure_to_array(fig: Figure) -> np.ndarray:
    """Render a figure to uint8 (H, W, 3) RGB; H, W = figsize * dpi."""
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(fig)  # figures from other backends
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[:, :, :3])


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _to_numpy_2d(x: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        a = x.detach().to("cpu", torch.float64).numpy()
    else:
        a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {tuple(a.shape)}")
    return a


def data_limits(real: torch.Tensor | np.ndarray, margin: float = 0.15) -> Limits:
    """Square (xmin, xmax, ymin, ymax) around the real points, with a margin.

    Derived from real data only, so every frame of a run shares the same axes
    and a GIF of the frames does not jump around.
    """
    a = _to_numpy_2d(real, "real")
    a = a[np.isfinite(a).all(axis=1)]
    if len(a) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = a.min(axis=0), a.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()), 1e-3) / 2 * (1 + 2 * margin)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


@torch.no_grad()
def _critic_surface(critic: Callable[[torch.Tensor], torch.Tensor], lim: Limits) -> np.ndarray:
    """Critic on a GRID_RES^2 lattice -> (GRID_RES, GRID_RES) array, row = y."""
    xs = torch.linspace(lim[0], lim[1], GRID_RES)
    ys = torch.linspace(lim[2], lim[3], GRID_RES)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (K, 2), float32
    out = critic(pts)
    out = out.detach().to("cpu", torch.float64).reshape(-1)
    if out.numel() != GRID_RES * GRID_RES:
        raise ValueError(f"critic must return (K,) for K={GRID_RES**2} points, got {out.numel()} values")
    return out.reshape(GRID_RES, GRID_RES).numpy()


def plot_points(
    real: torch.Tensor,
    fake: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    critic: Callable[[torch.Tensor], torch.Tensor] | None = None,
    title: str = "",
    lim: Limits | None = None,
    means: torch.Tensor | None = None,
    critic_scores: bool = False,
) -> Path:
    """Scatter real (N, 2) vs generated (M, 2) points over D's decision surface.

    critic: maps (K, 2) float32 CPU points to D's probability (K,) in [0, 1];
        drawn behind the points (blue = "real" to D, red = "fake" to D).
    critic_scores: the critic gives unbounded scores (WGAN, hinge, LSGAN), not
        probabilities: they are min-max scaled to [0, 1] over the picture.
    lim: (xmin, xmax, ymin, ymax); default from `real` via `data_limits`.
    means: optional (K, 2) mode centres, drawn as black crosses.
    Writes a ~600x600 PNG (fixed size, so frames can be stacked into a GIF).
    """
    r = _to_numpy_2d(real, "real")
    f = _to_numpy_2d(fake, "fake")
    lim = tuple(float(v) for v in (lim if lim is not None else data_limits(r)))  # type: ignore[assignment]

    fig = _new_figure(6.0, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    if critic is not None:
        surface = _critic_surface(critic, lim)
        label = "D(x)"
        if critic_scores:  # only the ordering of a critic's scores means something
            surface = (surface - surface.min()) / max(float(surface.max() - surface.min()), 1e-12)
            label = "critic score (min-max scaled)"
        # Diverging map centred at 0.5 (D undecided = white); "RdBu" puts high
        # D(x) in blue, matching the real points' colour.
        im = ax.imshow(
            surface, origin="lower", extent=lim, cmap="RdBu", vmin=0.0, vmax=1.0,
            alpha=0.75, interpolation="bilinear", aspect="auto",
        )
        cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        cbar.set_label(label)
    ax.scatter(r[:, 0], r[:, 1], s=4, c="#1f3b73", alpha=0.6, linewidths=0, label="real")
    ax.scatter(f[:, 0], f[:, 1], s=4, c="#ff7f0e", alpha=0.8, linewidths=0, label="generated")
    if means is not None:
        m = _to_numpy_2d(means, "means")
        ax.scatter(m[:, 0], m[:, 1], marker="x", s=50, c="black", linewidths=1.5, label="modes")
    ax.set_xlim(lim[0], lim[1])
    ax.set_ylim(lim[2], lim[3])
    ax.set_aspect("equal", adjustable="box")
    leg = ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    # The plotted dots are tiny; enlarge only their legend swatches, uniformly.
    for handle in leg.legend_handles:
        handle.set_sizes([30])  # type: ignore[union-attr]
    if title:
        ax.set_title(title)
    return _save(fig, path)


def _save(fig: Figure, path: str | os.PathLike[str], suptitle: str = "") -> Path:
    """Lay out, render and write a figure as PNG (atomically); its artists are dropped at once."""
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    arr = figure_to_array(fig)
    fig.clear()  # drop artists now rather than waiting for the GC
    return save_png(arr, path)


def _is_number(z: object) -> bool:
    # bools are ints in Python but are flags, not statistics worth plotting.
    return isinstance(z, (int, float)) and not isinstance(z, bool)


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) for one key; rows lacking it or 'step' are skipped."""
    xs: list[float] = []
    ys: list[float] = []
    for row in rows:
        step, v = row.get("step"), row.get(key)
        if not (_is_number(step) and _is_number(v)):
            continue
        xs.append(float(step))
        # inf would wreck the autoscaled y axis; NaN leaves a visible gap instead.
        ys.append(float(v) if math.isfinite(float(v)) else math.nan)
    return np.asarray(xs), np.asarray(ys)


def plot_curves(
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    path: str | os.PathLike[str],
    title: str = "",
) -> Path:
    """Line plots of training statistics (metrics.jsonl rows), one panel per key.

    rows: dicts with "step" and float values; a row missing a key is skipped
    for that key. Panels share the x axis "step". Returns the PNG path.
    """
    if not keys:
        raise ValueError("plot_curves needs at least one key")
    fig = _new_figure(7.0, 0.6 + 2.0 * len(keys))
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        xs, ys = _series(rows, key)
        if len(xs):
            ax.plot(xs, ys, lw=1.2, marker="." if len(xs) < 30 else None)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("step")
    return _save(fig, path, suptitle=title)


def plot_convergence(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], title: str = "") -> Path:
    """The two pictures of a 2D run's convergence: what D says of real and fake data over training
    (for logistic losses the theory's equilibrium is D = 1/2 on both, dashed), and the Sinkhorn
    divergence between samples and data (log scale; it falls to the sampling noise floor)."""
    fig = _new_figure(7.0, 5.2)
    top, bottom = fig.subplots(2, 1, sharex=True)
    probabilistic = any("D(x)" in row for row in rows)
    pairs = (("D(x)", "D(G(z))") if probabilistic else ("critic(x)", "critic(G(z))"))
    for key, colour in zip(pairs, ("#1f3b73", "#ff7f0e")):
        xs, ys = _series(rows, key)
        top.plot(xs, ys, lw=1.2, color=colour, label=key.replace("critic", "D"))
    if probabilistic:
        top.axhline(0.5, ls="--", color="grey", lw=1, label="equilibrium 1/2")
        top.set_ylim(0, 1)
    top.set_ylabel("D's output" if probabilistic else "critic score")
    top.legend(fontsize=8, loc="best")
    top.grid(True, alpha=0.3)
    xs, ys = _series(rows, "sinkhorn_to_data")
    if len(xs):
        bottom.semilogy(xs, np.clip(ys, 1e-6, None), lw=1.2, color="#2a7a2a")
    bottom.set_ylabel("Sinkhorn(samples, data)")
    bottom.set_xlabel("step")
    bottom.grid(True, alpha=0.3, which="both")
    return _save(fig, path, suptitle=title)
