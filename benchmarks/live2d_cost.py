"""What the live 2D snapshots (train.live_every, issue #16) cost, as a share of training time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/live2d_cost.py [--steps 200] [--snapshots 30] [--threads 1]

For each preset: the trainer is built as `gankit train` builds it, --warmup steps run, then --steps timed
training steps (Trainer.train_step) and --snapshots timed snapshots (LiveWriter.write: players run on the
fixed inputs, the surface, the pull, JSON and the atomic write with fsync) interleaved with training, so
the nets are the trained ones. Times are this process's CPU time on one thread (CPU seconds = core
seconds, whatever else the machine runs); the wall time of a snapshot (which includes the fsync) is
printed beside it. The cost of writing one snapshot every k steps is snapshot / (k x step).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

PRESETS = ("ring8-gan", "grid25-wgangp", "ring8-sinkhorn")
KS = (50, 100, 200, 500)


def measure(preset: str, steps: int, snapshots: int, warmup: int) -> dict[str, float]:
    from gankit import config as config_mod
    from gankit import presets
    from gankit.train.live2d import LiveWriter
    from gankit.train.loop import Trainer

    _, values = presets.resolve(preset)
    cfg = config_mod.build(values, {"train": {"progress": "false"}})
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp))
        live = LiveWriter(trainer)
        for _ in range(warmup):
            trainer.train_step()
        live.write()  # warm: the first call builds GeomLoss's and autograd's caches
        step_cpu, snap_cpu, snap_wall = [], [], []
        per = max(1, steps // snapshots)
        for i in range(steps):
            t = time.process_time()
            trainer.train_step()
            step_cpu.append(time.process_time() - t)
            if i % per == per - 1 and len(snap_cpu) < snapshots:
                t, w = time.process_time(), time.perf_counter()
                path = live.write()
                snap_cpu.append(time.process_time() - t)
                snap_wall.append(time.perf_counter() - w)
        size = path.stat().st_size
    return {"step": statistics.median(step_cpu) * 1e3, "snap": statistics.median(snap_cpu) * 1e3,
            "snap_wall": statistics.median(snap_wall) * 1e3, "kb": size / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--snapshots", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    head = " ".join(f"{'k=' + str(k):>7}" for k in KS)
    print(f"{'preset':<16} {'step CPU ms':>11} {'snapshot CPU ms':>15} {'(wall ms)':>9} {'KB':>5}   cost: {head}")
    for preset in args.presets:
        m = measure(preset, args.steps, args.snapshots, args.warmup)
        costs = " ".join(f"{100 * m['snap'] / (k * m['step']):>6.2f}%" for k in KS)
        print(f"{preset:<16} {m['step']:>11.2f} {m['snap']:>15.2f} {m['snap_wall']:>9.2f} {m['kb']:>5.0f}   "
              f"      {costs}", flush=True)


if __name__ == "__main__":
    main()
