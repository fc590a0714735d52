"""Figures of regions and folds: slices coloured by region, the deep-vs-wide study, the line scan,
the dragon curve beside the sawtooth. Object-oriented matplotlib on an Agg canvas (no pyplot state).
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from gankit.expressivity import folding
from gankit.expressivity.constructions import Construction, evaluate, sawtooth
from gankit.expressivity.regions import (
    LineRegions,
    PlaneRegions,
    count_line,
    count_plane,
)
from gankit.expressivity.studies import BudgetRow, ScanResult, spirals
from gankit.files import atomic_write


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure with its own Agg canvas."""
    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write the figure as PNG atomically (a crash never leaves half a file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return atomic_write(path, buf.getvalue())


def region_colours(n: int, seed: int = 0) -> np.ndarray:
    """n random pastel colours: neighbours rarely match, and no palette repeats every 20 regions."""
    rng = np.random.default_rng(seed)
    hsv = np.stack([rng.uniform(0, 1, n), rng.uniform(0.35, 0.75, n), rng.uniform(0.8, 1.0, n)], 1)
    return hsv_to_rgb(hsv)


def draw_plane(ax, regions: PlaneRegions, title: str) -> None:
    """Polygons coloured by region; edges drawn while they stay readable."""
    edge = 0.3 if regions.count < 3000 else 0.0
    ax.add_collection(PolyCollection(regions.polygons, facecolors=region_colours(regions.count),
                                     edgecolors="0.25", linewidths=edge))
    x0, x1, y0, y1 = regions.bounds
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")


def draw_line(ax, regions: LineRegions, f, title: str) -> None:
    """The graph of f over the segment, one colour per region, region boundaries as faint lines."""
    t = regions.breaks
    xs = regions.start[0] + t * (regions.end[0] - regions.start[0])
    fine = np.unique(np.concatenate([xs, np.linspace(xs[0], xs[-1], 2001)]))
    ys = f(fine[:, None])
    which = np.clip(np.searchsorted(xs, fine, side="right") - 1, 0, regions.count - 1)
    segs = np.stack([np.stack([fine[:-1], ys[:-1]], 1), np.stack([fine[1:], ys[1:]], 1)], 1)
    colours = region_colours(regions.count)[which[:-1]] * 0.8
    ax.add_collection(LineCollection(segs, colors=colours, linewidths=1.6))
    if regions.count <= 200:
        for x in xs[1:-1]:
            ax.axvline(x, color="0.8", lw=0.5, zorder=0)
    pad = 0.05 * (ys.max() - ys.min() + 1e-9)
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys.min() - pad, ys.max() + pad), title=title, xlabel="$x$", ylabel="output")


def regions_figure(regions: LineRegions | PlaneRegions, title: str, f=None) -> Figure:
    """One network's regions: a coloured slice (2-D) or its graph coloured by region (1-D)."""
    fig = new_figure(7, 6.5 if isinstance(regions, PlaneRegions) else 4)
    ax = fig.add_subplot()
    if isinstance(regions, PlaneRegions):
        draw_plane(ax, regions, title)
    else:
        draw_line(ax, regions, f, title)
    return fig


def construction_figure(con: Construction, regions: LineRegions | PlaneRegions) -> Figure:
    """A construction's regions with its count and the theory."""
    title = (f"{con.name}: {regions.count} regions counted exactly\n"
             f"theory {con.formula} = {con.expected}")
    return regions_figure(regions, title, lambda x: evaluate(con, x))


def budget_figure(rows: list[BudgetRow], budget: int, seed: int = 0, shown: int = 3) -> Figure:
    """Deep vs wide with the same neurons: slices at init (and trained, with the task's points), and counts."""
    trained = rows[0].trained is not None
    picks = sorted({0, len(rows) // 2, len(rows) - 1})[:shown]
    fig = new_figure(4.2 * len(picks) + 6, 8.4 if trained else 4.6)
    grid = fig.add_gridspec(2 if trained else 1, len(picks) + 1, width_ratios=[1] * len(picks) + [1.5])
    for col, i in enumerate(picks):
        r = rows[i]
        arch = f"{len(r.widths)} x {r.widths[0]}"
        draw_plane(fig.add_subplot(grid[0, col]), count_plane(r.init), f"{arch} at init (He): {r.regions_init} regions")
        if trained:
            ax = fig.add_subplot(grid[1, col])
            draw_plane(ax, count_plane(r.trained), f"{arch} trained (acc {r.accuracy:.2f}): {r.regions_trained} regions")
            x, y = spirals(1000, seed)
            ax.scatter(x[:300, 0], x[:300, 1], s=4, c=np.where(y[:300] > 0, "white", "black"), linewidths=0)
    ax = fig.add_subplot(grid[:, -1])
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r.regions_init for r in rows], 0.4, label="at initialisation (He)", color="tab:blue")
    if trained:
        ax.bar(x + 0.2, [r.regions_trained for r in rows], 0.4, label="after training (spirals)", color="tab:orange")
    ax.plot(x, [r.bound for r in rows], "k^--", label="most possible (Serra et al. 2018)")
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{len(r.widths)}x{r.widths[0]}" for r in rows])
    ax.set(xlabel="depth x width", ylabel="regions in $[-1,1]^2$ (exact)",
           title=f"{budget} neurons: depth can, typical nets don't")
    ax.legend(loc="upper left")
    fig.suptitle(f"Deep vs wide with the same {budget} ReLUs: regions of $[-1, 1]^2$, counted exactly")
    return fig


def scan_figure(scan: ScanResult) -> Figure:
    """Hanin & Rolnick: regions along a segment grow linearly in neurons, whatever the depth."""
    fig = new_figure(13, 5)
    lin, log = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    n = np.array(scan.neurons, float)
    for k, d in enumerate(scan.depths):
        colour = f"C{k}"
        lin.plot(n, scan.mean_regions[d], "o", color=colour, label=f"depth {d}: {scan.slope[d]:.2f} per neuron")
        lin.plot(n, 1 + scan.slope[d] * n, "-", color=colour, alpha=0.6)
        log.plot(n, scan.mean_regions[d], "o-", color=colour, label=f"depth {d}, typical")
        log.plot(n, scan.max_regions[d], "--", color=colour, alpha=0.8, label=f"depth {d}, most possible")
    lin.set(xlabel="total neurons N", ylabel=f"regions along a segment of length {scan.length:.2f}",
            title=f"Typical (He init, mean of {scan.seeds} nets): linear in N")
    lin.legend()
    log.set_yscale("log")
    log.set_xscale("log")
    log.set_xticks(n, [str(int(v)) for v in n])
    log.minorticks_off()
    log.set(xlabel="total neurons N", ylabel="regions along the segment",
            title="Most possible: (width + 1)$^{depth}$ (Serra et al. 2018)")
    log.legend(fontsize=8, ncol=2)
    fig.suptitle("Hanin & Rolnick (2019): regions grow with the number of neurons, not exponentially with depth")
    return fig


def fold_figure(folds: int) -> Figure:
    """The dragon curve after 1, 2, 3, 4 and `folds` folds above the sawtooth network of as many layers."""
    shown = sorted({1, 2, 3, 4, folds} & set(range(1, folds + 1)))
    fig = new_figure(3.3 * len(shown), 7)
    for col, n in enumerate(shown):
        ax = fig.add_subplot(2, len(shown), col + 1)
        path = folding.dragon(n)
        ax.plot(path[:, 0], path[:, 1], "-", color="tab:red", lw=max(0.4, 2.5 - 0.25 * n))
        ax.plot(*path[0], "ko", ms=3)
        ax.set(aspect="equal", title=f"{n} fold{'s' * (n > 1)}: {len(path) - 1} segments")
        ax.set_axis_off()
        con = sawtooth(n)
        regions = count_line(con.layers, 0.0, 1.0)
        ax = fig.add_subplot(2, len(shown), len(shown) + col + 1)
        draw_line(ax, regions, lambda x, c=con: evaluate(c, x), f"{n} layer{'s' * (n > 1)} x 2 ReLUs: {regions.count} pieces")
        if n > 5:  # 2^n teeth blur into a block: show the first 32 of them
            ax.set_xlim(0, 2.0 ** (5 - n))
            ax.set_title(f"{n} layers x 2 ReLUs: {regions.count} pieces\n(zoom on [0, 1/{2 ** (n - 5)}]: 32 of them)")
    k = folds
    fig.suptitle(f"Folding in sequence doubles the pieces: $2^n$ (paper strip, top; sawtooth network, bottom). "
                 f"{k} folds made at once (one wide layer) give at most $1 + k + \\binom{{k}}{{2}}$ = {1 + k + math.comb(k, 2)}")
    return fig
