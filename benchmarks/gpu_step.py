"""The whole gankit training step of `fashion-dcgan` (D step, G step, EMA, meter) on a GPU and on the CPU.

    .venv/bin/python benchmarks/gpu_step.py [--batches 64 256 1024] [--steps 300] [--cpu-threads 16]

Needs a CUDA GPU (train.device=cuda). Each variant: 20 warm-up steps, then --steps timed steps between
torch.cuda.synchronize() calls; prints images/s and ms/step, also with channels_last off, then the CPU for scale.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from gankit import config as config_mod
from gankit import presets
from gankit.train.loop import Trainer


def bench(device: str, batch: int, steps: int, warm: int = 20, extra: tuple[str, ...] = ()) -> None:
    _, values = presets.resolve("fashion-dcgan")
    sets = [f"train.device={device}", f"train.batch_size={batch}", "train.progress=false", *extra]
    trainer = Trainer(config_mod.build(values, config_mod.parse_overrides(sets)), Path(tempfile.mkdtemp()))
    for _ in range(warm):
        trainer.train_step()
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    if device != "cpu":
        torch.cuda.synchronize()
    dt = time.perf_counter() - start
    print(f"{device} batch {batch} {' '.join(extra)}: {steps * batch / dt:,.0f} img/s "
          f"({1000 * dt / steps:.2f} ms/step, {steps} steps)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--cpu-threads", type=int, default=16)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_step.py: no CUDA GPU is visible to this PyTorch")
    print(torch.__version__, torch.cuda.get_device_name(0), flush=True)
    for batch in args.batches:
        bench("cuda", batch, args.steps)
    bench("cuda", 256, args.steps, extra=("train.channels_last=false",))
    torch.set_num_threads(args.cpu_threads)
    bench("cpu", 64, 40, warm=5)
    bench("cpu", 256, 20, warm=3)


if __name__ == "__main__":
    main()
