"""Timings of the expressivity lab: exact region counts, a circle through a width-1000 net, the phase probe.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/expressivity_speed.py [--repeats 3]

Prints one line per case: median and max seconds over the repeats, and what was counted. The goal
from issue #6: the exact 2-D count of a width-32 depth-8 random ReLU net (He init, sigma_b = 0.5,
the square [-1, 1]^2) in under 10 s.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch


def _time(fn, repeats: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from gankit.expressivity import constructions, phase, regions, trajectory
    from gankit.expressivity.networks import HE_SIGMA_W, random_layers

    print(f"{'case':<58} {'median s':>9} {'max s':>7}  result")
    for seed in range(3):
        net = random_layers([32] * 8, 2, sigma_w=HE_SIGMA_W, sigma_b=0.5, seed=seed)
        med, worst, r = _time(lambda n=net: regions.count_plane(n), args.repeats)
        print(f"{f'2-D exact, 8 x 32 ReLU, He, seed {seed}':<58} {med:9.2f} {worst:7.2f}  {r.count} regions")
    net = random_layers([32] * 8, 2, sigma_w=HE_SIGMA_W, sigma_b=0.3, seed=0)
    med, worst, r = _time(lambda: regions.count_plane(net), args.repeats)
    print(f"{'2-D exact, 8 x 32 ReLU, He, sigma_b 0.3, seed 0':<58} {med:9.2f} {worst:7.2f}  {r.count} regions")
    net = random_layers([64] * 4, 2, sigma_w=HE_SIGMA_W, sigma_b=0.5, seed=0)
    med, worst, r = _time(lambda: regions.count_plane(net), args.repeats)
    print(f"{'2-D exact, 4 x 64 ReLU, He, seed 0':<58} {med:9.2f} {worst:7.2f}  {r.count} regions")
    net = random_layers([32] * 8, 2, sigma_w=HE_SIGMA_W, sigma_b=0.5, seed=0)
    med, worst, g = _time(lambda: regions.count_grid_plane(net, resolution=1000), args.repeats)
    print(f"{'2-D dense grid 1000 x 1000 (cross-check), 8 x 32, seed 0':<58} {med:9.2f} {worst:7.2f}  {g} patterns")
    net = random_layers([64] * 16, 2, sigma_w=HE_SIGMA_W, sigma_b=0.5, seed=0)
    med, worst, r = _time(lambda: regions.count_line(net, [-1.0, -1.0], [1.0, 1.0]), args.repeats)
    print(f"{'segment exact, 16 x 64 ReLU, diagonal of [-1,1]^2':<58} {med:9.3f} {worst:7.3f}  {r.count} regions")
    con = constructions.sawtooth(20)
    med, worst, r = _time(lambda: regions.count_line(con.layers, 0.0, 1.0), args.repeats)
    print(f"{'segment exact, sawtooth depth 20':<58} {med:9.2f} {worst:7.2f}  {r.count} = 2^20")
    med, worst, tr = _time(lambda: trajectory.trace_circle("tanh", 1000, 10, 3.0, 0.3, seed=0), 1)
    print(f"{'circle through tanh 1000 x 10, sigma_w 3 (rtol 1e-3)':<58} {med:9.2f} {worst:7.2f}  "
          f"{tr.n_points} points, x{trajectory.growth_rate(tr.length):.4f}/layer "
          f"(theory x{math.sqrt(trajectory.theory(tr)['chi_1']):.4f})")
    probe = phase.make_probe("tanh", 1000, 30, seed=0)
    med, worst, c = _time(lambda: phase.measured_critical_sigma_w(probe, 0.3), 1)
    print(f"{'measured critical sigma_w, tanh 1000 x 30, sigma_b 0.3':<58} {med:9.2f} {worst:7.2f}  {c:.4f}")


if __name__ == "__main__":
    main()
