"""Argument types that know their limits: every number the command line takes is checked here, so a
value that cannot work (a seed beyond the RNG's range, a sample count no memory holds, NaN) is refused
by the parser with one line, before anything runs or is written.

    p.add_argument("--n", type=int_in(1, 100_000))    p.add_argument("--rtol", type=float_in(0, 0.1))
"""
from __future__ import annotations

import argparse
import math
from typing import Callable

SEED_MAX = 2**63 - 1  # torch.manual_seed and numpy's generators take seeds below 2^63


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected an integer in [{lo}, {hi}]")
        return value

    parse.__name__ = "integer"
    return parse


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi]."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range; expected a finite number in [{lo:g}, {hi:g}]")
        return value

    parse.__name__ = "number"
    return parse


SEED = int_in(0, SEED_MAX)
