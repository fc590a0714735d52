"""The `gankit expressivity` command: regions | trajectory | phase | fold.

Parsing only; the work is in `gankit.expressivity.commands`, imported when a sub-command runs so
that `gankit --help` stays fast (no torch or matplotlib at import).
"""
from __future__ import annotations

import argparse

from gankit.cli_types import SEED, float_in, int_in

_INT = int_in(-10**9, 10**9)  # the handlers check each option's own range; this keeps out the absurd
_FLOAT = float_in(-1e9, 1e9)  # finite: NaN and inf pass no range check


def _run(name: str):
    def handler(args: argparse.Namespace) -> int:
        from gankit.expressivity import commands

        return getattr(commands, name)(args)
    return handler


def _output(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--json", action="store_true", help="print the numbers as one JSON object (no figure unless --out)")
    p.add_argument("--out", help=f"figure path, .png (default {default} in the current directory)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(default_out=default)


def add_subcommand(sub: argparse._SubParsersAction) -> None:
    """Register `gankit expressivity` on the main parser's sub-commands."""
    top = sub.add_parser("expressivity", help="why deep rather than wide: regions, trajectories, order/chaos, folds",
                         description="Measure and draw what depth does: exact activation-region counts, the length and "
                                     "curvature of a circle through random nets, the order/chaos phase diagram, "
                                     "and paper folding. See docs/EXPRESSIVITY.md.")
    ex = top.add_subparsers(dest="expressivity_command", required=True, parser_class=type(top))

    p = ex.add_parser("regions", help="exact activation regions of a ReLU net on a segment or a 2-D square",
                      description="Count activation regions exactly (no sampling) on [-R, R]^d, d = --input-dim; "
                                  "a dense grid of activation patterns is reported as a cross-check.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--construction", choices=("sawtooth", "serra", "one-layer"),
                      help="a hand-built net with a known count (checked against theory)")
    mode.add_argument("--widths", help="random net with these hidden widths, e.g. 16,16,16")
    mode.add_argument("--budget", type=_INT, metavar="N",
                      help="every depth x width with N neurons (2-D): regions at init, after training, and the maximum")
    mode.add_argument("--scan", action="store_true",
                      help="Hanin-Rolnick: regions along a segment vs total neurons, for depths 1, 2, 4, 8")
    p.add_argument("--depth", type=_INT, help="construction depth (default: sawtooth 6, serra 3, one-layer 1)")
    p.add_argument("--width", type=_INT, help="construction width (default: sawtooth 2, serra 3, one-layer 8)")
    p.add_argument("--input-dim", type=_INT, choices=(1, 2), default=2, help="input dimension (default 2)")
    p.add_argument("--init", choices=("he", "gaussian"),
                   help="he: W ~ N(0, 2/fan_in); gaussian: W ~ N(0, sigma_w^2/fan_in) (default he)")
    p.add_argument("--sigma-w", type=_FLOAT, help="weight scale for --init gaussian (default 1.0)")
    p.add_argument("--sigma-b", type=_FLOAT, help="bias std, b ~ N(0, sigma_b^2) (default 0.5)")
    p.add_argument("--seed", type=SEED, help="random net seed (default 0)")
    p.add_argument("--radius", type=_FLOAT, help="count on [-R, R]^d for random nets (default 1)")
    p.add_argument("--grid", type=_INT,
                   help="cross-check resolution: G x G points in 2-D, G^2 points on a segment (default 400)")
    p.add_argument("--train-steps", type=int_in(0, 100_000), help="--budget: Adam steps on two spirals, 0 to skip (default 1500)")
    p.add_argument("--seeds", type=int_in(1, 1000), help="--scan: networks averaged per point (default 10)")
    _output(p, "expressivity-regions.png")
    p.set_defaults(func=_run("regions"))

    p = ex.add_parser("trajectory", help="length and curvature of a circle pushed through a random deep net",
                      description="Push the circle x(t) = R (cos t e1 + sin t e2) in R^width through a random net "
                                  "(W ~ N(0, sigma_w^2/width), b ~ N(0, sigma_b^2)) with adaptive sampling; report "
                                  "length and total curvature per layer with the mean-field predictions.")
    p.add_argument("--activation", choices=("tanh", "hardtanh", "relu"), default="tanh")
    p.add_argument("--width", type=_INT, default=1000)
    p.add_argument("--depth", type=_INT, default=10)
    sig = p.add_mutually_exclusive_group()
    sig.add_argument("--sigma-w", type=_FLOAT, help="weight scale (default 2.0)")
    sig.add_argument("--sweep", help="several weight scales on one figure, e.g. 1.0,1.4,2.0,3.0")
    p.add_argument("--sigma-b", type=_FLOAT, default=0.3)
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--radius", type=_FLOAT, help="circle radius (default: layer 1 at the mean-field fixed point q*)")
    p.add_argument("--rtol", type=_FLOAT, default=1e-3, help="bisection tolerance on chord lengths (default 1e-3)")
    p.add_argument("--max-points", type=_INT, default=400_000, help="sampling budget for the whole circle")
    _output(p, "expressivity-trajectory.png")
    p.set_defaults(func=_run("trajectory"))

    p = ex.add_parser("phase", help="order/chaos: the critical sigma_w from mean field, and measured",
                      description="Mean-field chi_1 = 1 line (Poole et al. 2016) and the sigma_w where the measured "
                                  "per-layer stretch of random nets crosses 1.")
    p.add_argument("--activation", choices=("tanh", "hardtanh", "relu"), default="tanh")
    p.add_argument("--sigma-b", type=_FLOAT, default=0.3)
    p.add_argument("--width", type=_INT, default=1000, help="width of the measured nets (default 1000)")
    p.add_argument("--depth", type=_INT, default=30, help="depth of the measured nets (default 30)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--no-measure", action="store_true", help="mean field only (no random networks)")
    _output(p, "expressivity-phase.png")
    p.set_defaults(func=_run("phase"))

    p = ex.add_parser("fold", help="paper folding: the dragon curve beside the sawtooth network",
                      description="n folds of a strip make 2^n segments (the dragon curve); n layers of the sawtooth "
                                  "net make 2^n pieces; n folds at once make at most 1 + n + C(n, 2).")
    p.add_argument("--folds", type=_INT, default=10, help="number of folds, 1..16 (default 10)")
    _output(p, "expressivity-fold.png")
    p.set_defaults(func=_run("fold"))
