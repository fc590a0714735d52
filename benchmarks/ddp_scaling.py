"""Images per second of one preset with N data-parallel CPU processes (gankit train --nproc N), each with
one thread, at the same global batch: the scaling of train/distributed.py on this machine.

    python benchmarks/ddp_scaling.py                          # fashion-dcgan, 1 and 2 processes
    python benchmarks/ddp_scaling.py --procs 1 2 4 8          # a bigger machine
    python benchmarks/ddp_scaling.py --preset ring8-gan --batch 256

Each N trains `--steps` steps in a temporary run directory (nothing under runs/); img/s is the median of
the metrics rows' img_per_s after the first row (start-up, the first pictures). efficiency = (img/s with N)
/ (N x img/s with 1): 1.0 is perfect scaling. Other programs on the machine take cores from the processes:
the table prints the load average before each run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(preset: str, procs: int, steps: int, batch: int, every: int, out: Path) -> float:
    run = out / f"procs-{procs}"
    cmd = [sys.executable, "-m", "gankit", "train", preset, "--nproc", str(procs), "--out", str(run),
           "--steps", str(steps), "--set", f"train.batch_size={batch}", "--set", "train.threads=1",
           "--set", "train.progress=false", "--set", f"train.log_every={every}", "--set", "train.sample_every=0",
           "--set", "train.ckpt_every=0", "--set", "train.minutes=0", "--set", "train.live_every=0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["img_per_s"] for r in rows if "img_per_s" in r][1:]
    if not rates:
        sys.exit(f"{run}: too few metrics rows; give more --steps than --every")
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fashion-dcgan")
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts (1 first: the base)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--every", type=int, default=10, help="steps between metrics rows (one img/s figure each)")
    parser.add_argument("--batch", type=int, default=64, help="global batch (a multiple of every process count)")
    args = parser.parse_args()
    procs = sorted(set(args.procs) | {1})
    bad = [n for n in procs if args.batch % n]
    if bad:
        sys.exit(f"--batch {args.batch} is not a multiple of {bad}")
    print(f"{args.preset}, global batch {args.batch}, {args.steps} steps, 1 thread per process, "
          f"{os.cpu_count()} CPUs")
    print(f"{'procs':>5} {'load avg':>9} {'img/s':>9} {'speedup':>8} {'efficiency':>10} {'wall s':>7}")
    base = None
    with tempfile.TemporaryDirectory(prefix="gankit-ddp-bench-") as tmp:
        for n in procs:
            load = os.getloadavg()[0]
            start = time.monotonic()
            rate = measure(args.preset, n, args.steps, args.batch, args.every, Path(tmp))
            base = base or rate
            print(f"{n:>5} {load:>9.2f} {rate:>9.1f} {rate / base:>8.2f} {rate / (n * base):>10.2f} "
                  f"{time.monotonic() - start:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
