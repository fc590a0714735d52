"""What `gankit expressivity regions|trajectory|phase|fold` do: validate, compute, print JSON or write a PNG.

Every handler turns bad input into one `UserError` line before any long computation starts.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gankit.errors import UserError
from gankit.files import strict_json

_DEFAULTS = {"sawtooth": (6, 2), "serra": (3, 3), "one-layer": (1, 8)}  # (depth, width)
_RANDOM_ONLY = ("init", "sigma_w", "sigma_b", "radius", "seed")


def _out(args: argparse.Namespace) -> Path | None:
    """The PNG to write (None for --json without --out), checked before any work."""
    if args.json and not args.out:
        return None
    out = Path(args.out or args.default_out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must be a .png file, got {out}")
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")
    return out


def _emit(args: argparse.Namespace, out: Path | None, result: dict, figure: Callable, summary: str) -> int:
    if args.json:
        print(json.dumps(strict_json(result), allow_nan=False))  # strict JSON: NaN/inf as null with KEY_why
    if out is not None:
        from gankit.expressivity.plots import save

        save(figure(), out)
        if not args.json:
            print(f"wrote {out}: {summary}")
    return 0


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _refuse(args: argparse.Namespace, names: tuple[str, ...], mode: str) -> None:
    for name in names:
        if getattr(args, name, None) is not None:
            raise UserError(f"--{name.replace('_', '-')} does not apply to {mode}")


def _positive(name: str, value: float | None, *, zero_ok: bool = False) -> None:
    if value is not None and (not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok)):
        raise UserError(f"--{name} must be {'>= 0' if zero_ok else '> 0'}, got {value}")


def parse_floats(text: str, option: str) -> list[float]:
    """'1.0,1.4' -> [1.0, 1.4]; UserError on anything else."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"{option} must be comma-separated numbers like 1.0,1.4,2.0, got {text!r}") from None
    return values


def parse_widths(text: str) -> list[int]:
    """'16,16,16' -> [16, 16, 16]; UserError unless 1..64 positive integers of at most 1024."""
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise UserError(f"--widths must be comma-separated integers like 16,16,16, got {text!r}") from None
    if not 1 <= len(widths) <= 64 or min(widths) < 1 or max(widths) > 1024 or sum(widths) > 512:
        raise UserError(f"--widths needs 1 to 64 layers of 1 to 1024 neurons, at most 512 in all, got {text!r}")
    return widths


def regions(args: argparse.Namespace) -> int:
    """`gankit expressivity regions`: one of --construction, --widths, --budget, --scan."""
    for name in ("depth", "width", "grid", "train_steps", "seeds"):
        _positive(name, getattr(args, name), zero_ok=name == "train_steps")
    _positive("sigma-w", args.sigma_w)
    _positive("sigma-b", args.sigma_b, zero_ok=True)
    _positive("radius", args.radius)
    if args.grid is not None and args.grid > 4000:
        raise UserError(f"--grid must be at most 4000, got {args.grid}")
    if args.sigma_w is not None and args.init != "gaussian":
        raise UserError("--sigma-w sets the gaussian init; --init he fixes sigma_w^2 = 2 (add --init gaussian)")
    out = _out(args)
    if args.construction:
        return _emit(args, out, *_construction(args))
    if args.widths:
        return _emit(args, out, *_random(args))
    if args.budget is not None:
        return _emit(args, out, *_budget(args))
    return _emit(args, out, *_scan(args))


def _count(layers: list, dim: int, bounds: tuple, grid: int) -> tuple[object, int, float]:
    from gankit.expressivity import regions as rg

    t = time.perf_counter()
    r = rg.count_line(layers, bounds[0], bounds[1]) if dim == 1 else rg.count_plane(layers, bounds)
    seconds = time.perf_counter() - t
    dense = (rg.count_grid_line(layers, bounds[0], bounds[1], grid * grid) if dim == 1
             else rg.count_grid_plane(layers, bounds, grid))
    return r, dense, seconds


def _construction(args: argparse.Namespace) -> tuple[dict, Callable, str]:
    from gankit.expressivity import constructions, plots

    _refuse(args, (*_RANDOM_ONLY, "train_steps", "seeds"), "--construction (its weights are fixed)")
    name, dim = args.construction, args.input_dim
    depth, width = args.depth or _DEFAULTS[name][0], args.width or _DEFAULTS[name][1]
    if not 1 <= depth <= 64 or not 1 <= width <= 1024:  # as --widths: far beyond, the counts cannot be enumerated
        raise UserError(f"--construction needs 1 <= --depth <= 64 and 1 <= --width <= 1024, got {depth} and {width}")
    try:
        con = constructions.build(name, depth, width, dim)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    limit = 2_000_000 if dim == 1 else 100_000
    if con.expected > limit:
        raise UserError(f"{name} depth {depth} width {width} has {con.expected} regions; "
                        f"at most {limit} can be counted in {dim}-D here")
    r, dense, seconds = _count(con.layers, dim, con.bounds, args.grid or 400)
    result = {"mode": "construction", "construction": name, "depth": depth, "width": width, "input_dim": dim,
              "regions": r.count, "expected": con.expected, "formula": con.formula,
              "matches_theory": r.count == con.expected, "grid_regions": dense, "grid": args.grid or 400,
              "seconds": round(seconds, 4)}
    return result, lambda: plots.construction_figure(con, r), f"{r.count} regions (theory {con.expected})"


def _random(args: argparse.Namespace) -> tuple[dict, Callable, str]:
    from gankit.expressivity import constructions, networks, plots

    _refuse(args, ("depth", "width", "train_steps", "seeds"), "--widths (the widths give depth and width)")
    widths, dim = parse_widths(args.widths), args.input_dim
    init = args.init or "he"
    sigma_w = networks.HE_SIGMA_W if init == "he" else (1.0 if args.sigma_w is None else args.sigma_w)
    sigma_b = 0.5 if args.sigma_b is None else args.sigma_b
    seed, radius = args.seed or 0, args.radius or 1.0
    layers = networks.random_layers(widths, dim, sigma_w=sigma_w, sigma_b=sigma_b, seed=seed)
    bounds = (-radius, radius, -radius, radius)
    r, dense, seconds = _count(layers, dim, bounds, args.grid or 400)
    result = {"mode": "random", "widths": widths, "input_dim": dim, "init": init, "sigma_w": sigma_w,
              "sigma_b": sigma_b, "seed": seed, "radius": radius, "regions": r.count, "grid_regions": dense,
              "grid": args.grid or 400, "max_regions": constructions.serra_bound(widths, dim),
              "neurons": sum(widths), "seconds": round(seconds, 4)}
    readout = np.random.default_rng(seed + 1).standard_normal(widths[-1])
    f = lambda x: np.maximum(networks.preactivations(layers, x)[-1], 0) @ readout
    arch = f"{len(widths)} layers x {widths[0]}" if len(set(widths)) == 1 else "widths " + ",".join(map(str, widths))
    title = (f"random ReLU net, {arch}, {init} init ($\\sigma_w$={sigma_w:.3g}, $\\sigma_b$={sigma_b:g}), seed {seed}\n"
             f"{r.count} regions, counted exactly in {seconds:.2f} s (dense grid sees {dense})")
    return result, lambda: plots.regions_figure(r, title, f), f"{r.count} regions in {seconds:.2f} s"


def _budget(args: argparse.Namespace) -> tuple[dict, Callable, str]:
    from gankit.expressivity import plots, studies

    _refuse(args, ("depth", "width", "seeds", "radius", "init", "sigma_w", "grid"), "--budget (He init on [-1, 1]^2)")
    if args.input_dim != 2:
        raise UserError("--budget counts regions of the square [-1, 1]^2: use --input-dim 2")
    if not 2 <= args.budget <= 256:
        raise UserError(f"--budget must be between 2 and 256 neurons, got {args.budget}")
    steps = 1500 if args.train_steps is None else args.train_steps
    sigma_b, seed = 0.5 if args.sigma_b is None else args.sigma_b, args.seed or 0
    t = time.perf_counter()
    rows = studies.budget_study(args.budget, sigma_b=sigma_b, seed=seed, train_steps=steps)
    archs = [{"widths": r.widths, "regions_init": r.regions_init, "regions_trained": r.regions_trained,
              "train_accuracy": r.accuracy, "max_regions": r.bound} for r in rows]
    result = {"mode": "budget", "budget": args.budget, "sigma_b": sigma_b, "seed": seed, "train_steps": steps,
              "regions": [r.regions_init for r in rows], "architectures": archs,
              "seconds": round(time.perf_counter() - t, 2)}
    summary = ", ".join(f"{len(r.widths)}x{r.widths[0]}: {r.regions_init}" for r in rows)
    return result, lambda: plots.budget_figure(rows, args.budget, seed), f"regions at init {summary}"


def _scan(args: argparse.Namespace) -> tuple[dict, Callable, str]:
    from gankit.expressivity import plots, studies

    _refuse(args, ("depth", "width", "train_steps", "radius", "init", "sigma_w", "grid", "seed"),
            "--scan (He init, seeds 0..--seeds-1, the diagonal of [-1, 1]^2)")
    seeds, sigma_b = args.seeds or 10, 0.5 if args.sigma_b is None else args.sigma_b
    s = studies.line_scan(seeds=seeds, sigma_b=sigma_b)
    result = {"mode": "scan", "depths": s.depths, "neurons": s.neurons, "regions": s.mean_regions,
              "max_regions": s.max_regions, "slope_per_neuron": s.slope, "segment_length": s.length,
              "seeds": seeds, "sigma_b": sigma_b}
    summary = ", ".join(f"depth {d}: {v:.2f}" for d, v in s.slope.items())
    return result, lambda: plots.scan_figure(s), f"regions per neuron along the segment: {summary}"


def trajectory(args: argparse.Namespace) -> int:
    """`gankit expressivity trajectory`: length and curvature per layer of a circle's image."""
    if not 2 <= args.width <= 8192 or not 1 <= args.depth <= 200:
        raise UserError(f"need 2 <= --width <= 8192 and 1 <= --depth <= 200, got {args.width}, {args.depth}")
    sigmas = parse_floats(args.sweep, "--sweep") if args.sweep else [2.0 if args.sigma_w is None else args.sigma_w]
    for s in sigmas:
        _positive("sigma-w", s)
    _positive("sigma-b", args.sigma_b, zero_ok=True)
    _positive("radius", args.radius)
    if not 0 < args.rtol <= 0.1 or not 1000 <= args.max_points <= 4_000_000:
        raise UserError(f"need 0 < --rtol <= 0.1 and 1000 <= --max-points <= 4000000, got {args.rtol}, {args.max_points}")
    if args.width**2 * args.depth > 250_000_000:  # the multiply-adds per point of the curve, as for phase
        raise UserError(f"--width {args.width} and --depth {args.depth} need width^2 x depth <= 250,000,000 "
                        "(about a minute here); use a narrower or shallower net")
    out = _out(args)
    from gankit.expressivity import plots_chaos
    from gankit.expressivity.trajectory import growth_rate, theory, trace_circle

    trajs, runs = [], []
    for s in sigmas:
        t = time.perf_counter()
        tr = trace_circle(args.activation, args.width, args.depth, s, args.sigma_b, args.seed,
                          radius=args.radius, rtol=args.rtol, max_points=args.max_points)
        if not all(math.isfinite(v) for v in tr.length + tr.curvature):
            raise UserError(f"sigma_w={s}: the curve's length overflowed float64; use fewer layers or a smaller --sigma-w")
        th = theory(tr)
        if not tr.converged:
            warnings.warn(f"sigma_w={s}: sampling hit --max-points {args.max_points} or the smallest step before "
                          f"converging; raise --max-points or --rtol", stacklevel=1)
        trajs.append(tr)
        runs.append({"activation": tr.activation, "width": tr.width, "depth": tr.depth, "sigma_w": s,
                     "sigma_b": tr.sigma_b, "seed": tr.seed, "radius": tr.radius, "length": tr.length,
                     "curvature": tr.curvature, "rate_measured": growth_rate(tr.length), "rate_theory": th["rate"],
                     "chi_1": th["chi_1"], "raghu_rate": None if math.isnan(th["raghu_rate"]) else th["raghu_rate"],
                     "length_theory": th["length"], "curvature_theory": th.get("curvature"),
                     "n_points": tr.n_points, "length_change": tr.length_change,
                     "curvature_change": tr.curvature_change, "converged": tr.converged, "rtol": args.rtol,
                     "seconds": round(time.perf_counter() - t, 2)})
    result = runs[0] if len(runs) == 1 else {"runs": runs}
    summary = "; ".join(f"sigma_w={r['sigma_w']:g}: x{r['rate_measured']:.3f}/layer (theory x{r['rate_theory']:.3f})"
                        for r in runs)
    return _emit(args, out, result, lambda: plots_chaos.trajectory_figure(trajs), summary)


def phase(args: argparse.Namespace) -> int:
    """`gankit expressivity phase`: the critical sigma_w at --sigma-b, mean field and measured."""
    _positive("sigma-b", args.sigma_b, zero_ok=True)
    if args.sigma_b > 2.0:
        raise UserError(f"--sigma-b must be at most 2 (the phase diagram's range), got {args.sigma_b}")
    if not 16 <= args.width <= 4000 or not 6 <= args.depth <= 200 or args.width**2 * args.depth > 250_000_000:
        raise UserError("need 16 <= --width <= 4000, 6 <= --depth <= 200 and width^2 x depth <= 2.5e8 "
                        f"(1 GB of weights), got {args.width}, {args.depth}")
    out = _out(args)
    from gankit.expressivity import meanfield, plots_chaos
    from gankit.expressivity import phase as ph

    act = args.activation
    crit = meanfield.critical_sigma_w(act, args.sigma_b)
    result: dict = {"activation": act, "sigma_b": args.sigma_b, "critical_sigma_w": crit,
                    "q_star": _finite(meanfield.q_star(act, crit, args.sigma_b))}
    measured: dict[float, float] = {}
    stretch, desc = None, f"width {args.width}, depth {args.depth}, seed {args.seed}"
    if not args.no_measure:
        t = time.perf_counter()
        probe = ph.make_probe(act, args.width, args.depth, args.seed)
        try:
            measured[args.sigma_b] = ph.measured_critical_sigma_w(probe, args.sigma_b)
            if out is not None:  # the figure also shows the crossing at other biases and the curve at this one
                for b in (0.0, 0.3, 0.6, 1.0, 1.5, 2.0):
                    measured.setdefault(b, ph.measured_critical_sigma_w(probe, b))
                ws = list(np.linspace(max(0.5, crit - 0.8), crit + 0.8, 17))
                stretch = (ws, [ph.log_stretch(probe, w, args.sigma_b) for w in ws])
        except ValueError as exc:
            raise UserError(str(exc)) from None
        result.update(measured_critical_sigma_w=measured[args.sigma_b], measured_with=desc,
                      measure_seconds=round(time.perf_counter() - t, 2))
    summary = f"critical sigma_w {crit:.4f} (mean field)" + (
        f", {measured[args.sigma_b]:.4f} measured" if measured else "")
    return _emit(args, out, result,
                 lambda: plots_chaos.phase_figure(act, args.sigma_b, dict(sorted(measured.items())), stretch, desc),
                 summary)


def fold(args: argparse.Namespace) -> int:
    """`gankit expressivity fold`: dragon curve segments vs sawtooth pieces vs one-layer regions."""
    if not 1 <= args.folds <= 16:
        raise UserError(f"--folds must be between 1 and 16, got {args.folds}")
    out = _out(args)
    from gankit.expressivity import constructions, folding, plots
    from gankit.expressivity import regions as rg

    n = args.folds
    path = folding.dragon(n)
    saw, wide = constructions.sawtooth(n), constructions.one_layer(n, 2)
    result = {"folds": n, "dragon_segments": len(path) - 1, "dragon_distinct_edges": folding.distinct_edges(path),
              "sawtooth_regions": rg.count_line(saw.layers, 0.0, 1.0).count, "sawtooth_expected": saw.expected,
              "one_layer_regions": rg.count_plane(wide.layers, wide.bounds).count, "one_layer_expected": wide.expected}
    summary = (f"{n} folds: {result['dragon_segments']} segments, sawtooth {result['sawtooth_regions']} pieces, "
               f"one layer of {n}: {result['one_layer_regions']} regions")
    return _emit(args, out, result, lambda: plots.fold_figure(n), summary)
