"""Time of one Sinkhorn step (forward + backward of the debiased divergence) for 2D point batches.

    .venv/bin/python benchmarks/sinkhorn_speed.py [--sizes 512 4096] [--blur 0.05] [--scaling 0.5 0.9] [--threads 2]

The points are two ring8 batches (radius 1, sigma 0.01) and a Gaussian cloud for the fakes, as in a
sinkhorn-game step; GeomLoss's tensorized backend (plain torch, no KeOps). Prints the median of 5 repeats.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from gankit.losses.sinkhorn import sinkhorn_divergence


def step_time(n: int, blur: float, scaling: float, repeats: int = 5) -> float:
    g = torch.Generator().manual_seed(0)
    angles = torch.randint(8, (n,), generator=g) * (2 * torch.pi / 8)
    real = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)
    times = []
    for _ in range(repeats + 1):
        fake = torch.randn(n, 2, generator=g).requires_grad_(True)
        start = time.perf_counter()
        sinkhorn_divergence(fake, real, blur=blur, scaling=scaling).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first call builds GeomLoss's module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 4096])
    parser.add_argument("--blur", type=float, default=0.05)
    parser.add_argument("--scaling", type=float, nargs="+", default=[0.5, 0.9])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| points per batch | blur | scaling | step time (forward + backward) |")
    print("|---|---|---|---|")
    for n in args.sizes:
        for scaling in args.scaling:
            print(f"| {n} | {args.blur} | {scaling} | {1000 * step_time(n, args.blur, scaling):.1f} ms |")


if __name__ == "__main__":
    main()
