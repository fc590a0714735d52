"""Figures of trajectories and of the order/chaos phase diagram."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from gankit.expressivity import meanfield
from gankit.expressivity.plots import new_figure
from gankit.expressivity.trajectory import Trajectory, growth_rate, theory


def _regime(chi_1: float) -> str:
    return "ordered" if chi_1 < 0.98 else "chaotic" if chi_1 > 1.02 else "critical"


def _curves(ax_len, ax_curv, trajs: list[Trajectory]) -> None:
    layers = np.arange(trajs[0].depth + 1)
    for k, tr in enumerate(trajs):
        th, c = theory(tr), f"C{k}"
        label = (f"$\\sigma_w$={tr.sigma_w:g}: x{growth_rate(tr.length):.3f}/layer "
                 f"(theory $\\sqrt{{\\chi_1}}$={th['rate']:.3f}, {_regime(th['chi_1'])})")
        ax_len.plot(layers, tr.length, "o", color=c, label=label)
        ax_len.plot(layers[1:], th["length"][1:], "-", color=c, alpha=0.7)
        if not math.isnan(th["raghu_rate"]):
            ax_len.plot(layers[1:], [tr.length[1] * th["raghu_rate"] ** (l - 1) for l in layers[1:]], ":", color=c,
                        label=f"Raghu et al. Thm 1 rate x{th['raghu_rate']:.3f} (up to a constant per layer)")
        ax_curv.plot(layers, tr.curvature, "o", color=c, label=f"$\\sigma_w$={tr.sigma_w:g}")
        if "curvature" in th:
            ax_curv.plot(layers[1:], th["curvature"][1:], "-", color=c, alpha=0.7)
    tr = trajs[0]
    ax_len.set(yscale="log", xlabel="layer (0 = input circle)", ylabel="length of the image of the circle",
               title="Length: measured (dots), mean field L$_1\\chi_1^{(l-1)/2}$ (lines)")
    ax_len.legend(fontsize=8)
    note = ", Poole et al. recursion (lines)" if tr.activation == "tanh" else ""
    ax_curv.set(yscale="log", xlabel="layer (0 = input circle)", ylabel="total curvature $\\int |dT/ds|\\, ds$ (rad)",
                title=f"Total curvature: measured (dots){note}")
    ax_curv.axhline(2 * math.pi, color="0.6", lw=0.8, ls="--")
    ax_curv.legend(fontsize=8)


def _projection(ax, tr: Trajectory, layer: int, colour: str = "k", title: str | None = None) -> None:
    p = tr.projection[layer].numpy()
    p = np.vstack([p, p[:1]])
    ax.plot(p[:, 0], p[:, 1], "-", color=colour, lw=0.5)
    ax.set(aspect="equal", title=title or f"layer {layer}: length {tr.length[layer]:.0f}")
    ax.set_xticks([]), ax.set_yticks([])


def trajectory_figure(trajs: list[Trajectory]) -> Figure:
    """Length and curvature per layer with their theory lines; the curve at chosen layers, in 2-D."""
    tr = trajs[0]
    fig = new_figure(14, 9.5)
    grid = fig.add_gridspec(2, 4, height_ratios=[1.3, 1])
    _curves(fig.add_subplot(grid[0, :2]), fig.add_subplot(grid[0, 2:]), trajs)
    if len(trajs) == 1:
        shown = sorted({0, 1, tr.depth // 2, tr.depth})[-4:]
        for col, layer in enumerate(shown):
            _projection(fig.add_subplot(grid[1, col]), tr, layer)
    else:
        for col, t in enumerate(trajs[:4]):
            _projection(fig.add_subplot(grid[1, col]), t, t.depth, f"C{col}",
                        f"$\\sigma_w$={t.sigma_w:g}, layer {t.depth}: length {t.length[-1]:.0f}")
    sig = f"$\\sigma_w$={tr.sigma_w:g}, " if len(trajs) == 1 else ""
    fig.suptitle(f"A circle through a random {tr.activation} network: width {tr.width}, depth {tr.depth}, "
                 f"{sig}$\\sigma_b$={tr.sigma_b:g}, seed {tr.seed} (bottom: 2-D random projections)")
    return fig


def phase_figure(activation: str, sigma_b: float, measured: dict[float, float],
                 stretch: tuple[list[float], list[float]] | None, probe_desc: str) -> Figure:
    """(sigma_w, sigma_b) coloured by log chi_1 with the critical line; the measured stretch at sigma_b."""
    fig = new_figure(14, 5.8)
    ax = fig.add_subplot(1, 2 if stretch else 1, 1)
    sw = np.linspace(0.5, 4.0, 141)
    sb = np.linspace(0.0, 2.0, 81)
    grid_w, grid_b = np.meshgrid(sw, sb)
    log_chi = np.log(meanfield.chi(activation, grid_w, grid_b)[0])
    mesh = ax.pcolormesh(sw, sb, log_chi, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -2.0, 2.0), shading="auto")
    fig.colorbar(mesh, ax=ax, label="log $\\chi_1$  (< 0 ordered, > 0 chaotic)")
    line_b = np.linspace(0.0, 2.0, 41)
    ax.plot(meanfield.critical_sigma_w(activation, line_b), line_b, "k-", lw=2,
            label="mean field: $\\chi_1 = 1$")
    if measured:
        ax.plot(list(measured.values()), list(measured.keys()), "o", mfc="yellow", mec="k", ms=7,
                label=f"measured ({probe_desc})")
    crit = meanfield.critical_sigma_w(activation, sigma_b)
    ax.axhline(sigma_b, color="0.3", ls=":", lw=1)
    ax.annotate(f"$\\sigma_w^*$ = {crit:.3f} at $\\sigma_b$ = {sigma_b:g}", (crit, sigma_b), (crit + 0.3, sigma_b + 0.25),
                arrowprops={"arrowstyle": "->"}, fontsize=10)
    ax.text(0.7, 1.7, "ORDERED", fontsize=13, color="navy")
    ax.text(3.0, 1.0, "CHAOTIC", fontsize=13, color="darkred")
    ax.set(xlabel="$\\sigma_w$ (weight scale)", ylabel="$\\sigma_b$ (bias scale)",
           title=f"{activation}: order-to-chaos phase diagram (Poole et al. 2016)")
    ax.legend(loc="lower right", fontsize=9)
    if stretch:
        ax2 = fig.add_subplot(1, 2, 2)
        ws, logs = stretch
        fine = np.linspace(min(ws), max(ws), 200)
        ax2.plot(fine, 0.5 * np.log(meanfield.chi(activation, fine, np.full_like(fine, sigma_b))[0]), "k-",
                 label="mean field: log $\\sqrt{\\chi_1}$")
        ax2.plot(ws, logs, "o", color="tab:orange", label=f"measured ({probe_desc})")
        ax2.axhline(0, color="0.5", lw=0.8)
        ax2.axvline(crit, color="k", ls=":", lw=1)
        if sigma_b in measured:
            ax2.axvline(measured[sigma_b], color="tab:orange", ls="--", lw=1,
                        label=f"measured crossing {measured[sigma_b]:.3f} (theory {crit:.3f})")
        ax2.set(xlabel="$\\sigma_w$", ylabel="log stretch of the circle per layer",
                title=f"At $\\sigma_b$ = {sigma_b:g}: below 0 lengths shrink, above 0 they grow")
        ax2.legend(fontsize=9)
    return fig
