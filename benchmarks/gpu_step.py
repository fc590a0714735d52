"""The whole gankit training step (D step, G step, EMA, meter) on a GPU: eager, compiled (CUDA graphs) and bf16.

    .venv/bin/python benchmarks/gpu_step.py [--batches 64 256 1024] [--steps 300] [--cpu-threads 16]
                                            [--peak-tflops 989] [--device cuda]

Each variant: 20 warm-up steps (compilation and CUDA-graph recording happen there), then --steps timed steps
between torch.cuda.synchronize() calls; prints images/s and ms/step.
1. `fashion-dcgan` at each batch: eager fp32 (the default), train.compile=reduce-overhead, and that with
   train.precision=bf16 (issue #17's goal: <= 1.5 ms per step at batch 64).
2. A large conv net: the 64x64 RGB DCGAN (`folder-dcgan`'s nets, width 64) on procedural `shapes` at 64 px,
   batch 1024. The step's floating-point operations are counted once with torch's FlopCounterMode, and the
   achieved TFLOP/s are given as a share of --peak-tflops (the H200's dense bf16 figure from NVIDIA's data
   sheet, 989; the goal is >= 60%).
3. The CPU at 64 and 256 for scale (--cpu-threads).
--device cpu runs parts 1 and 2 on the CPU with 3 timed steps (a smoke test of this script, no figures).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from gankit import config as config_mod
from gankit import presets
from gankit.train.loop import Trainer

SPEED = {"eager fp32": (), "compiled": ("train.compile=reduce-overhead",),
         "compiled bf16": ("train.compile=reduce-overhead", "train.precision=bf16")}
LARGE = ("data.name=shapes", "data.resolution=64", "data.n_samples=4096", "nets.G.arch=dcgan", "nets.G.width=64",
         "nets.D.arch=dcgan", "nets.D.width=64", "nets.G.norm=batch", "nets.D.norm=batch", "nets.z_dim=100")


def trainer_for(preset: str, device: str, batch: int, extra: tuple[str, ...]) -> Trainer:
    torch._dynamo.reset()  # each trainer's players are new modules: compile them afresh, not as recompiles
    _, values = presets.resolve(preset)
    sets = [f"train.device={device}", f"train.batch_size={batch}", "train.progress=false", *extra]
    return Trainer(config_mod.build(values, config_mod.parse_overrides(sets)), Path(tempfile.mkdtemp()))


def sync(device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def timed(trainer: Trainer, device: str, steps: int, warm: int) -> float:
    """Seconds per step after `warm` untimed steps."""
    for _ in range(warm):
        trainer.train_step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(device)
    return (time.perf_counter() - start) / steps


def bench(preset: str, device: str, batch: int, steps: int, warm: int, label: str, extra: tuple[str, ...]) -> None:
    dt = timed(trainer_for(preset, device, batch, extra), device, steps, warm)
    print(f"{preset} {device} batch {batch} {label}: {batch / dt:,.0f} img/s ({1000 * dt:.2f} ms/step)", flush=True)


def large_net(device: str, batch: int, steps: int, warm: int, peak: float, label: str, extra: tuple[str, ...]) -> None:
    counter = trainer_for("folder-dcgan", device, batch, LARGE)  # eager: FlopCounterMode counts aten ops
    with FlopCounterMode(display=False) as flops:
        counter.train_step()
    per_step = flops.get_total_flops()
    dt = timed(trainer_for("folder-dcgan", device, batch, (*LARGE, *extra)), device, steps, warm)
    tflops = per_step / dt / 1e12
    print(f"64x64 DCGAN {device} batch {batch} {label}: {batch / dt:,.0f} img/s, {1000 * dt:.2f} ms/step, "
          f"{per_step / 1e12:.2f} TFLOP/step, {tflops:.1f} TFLOP/s = {100 * tflops / peak:.1f}% of {peak:g}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--cpu-threads", type=int, default=16)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 TFLOP/s (H200: 989)")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    args = ap.parse_args()
    smoke = args.device == "cpu"
    if not smoke and not torch.cuda.is_available():
        raise SystemExit("gpu_step.py: no CUDA GPU is visible to this PyTorch (--device cpu: a smoke test)")
    steps, warm = (3, 2) if smoke else (args.steps, 20)
    print(torch.__version__, "CPU smoke test" if smoke else torch.cuda.get_device_name(0), flush=True)
    for batch in ([8] if smoke else args.batches):
        for label, extra in SPEED.items():
            bench("fashion-dcgan", args.device, batch, steps, warm, label, extra)
    for label, extra in SPEED.items():
        if smoke and "bf16" in label:
            continue  # bf16 on an AVX2-only CPU is emulated: minutes per step of the large net
        large_net(args.device, 16 if smoke else 1024, steps, warm, args.peak_tflops, label, extra)
    if not smoke:
        torch.set_num_threads(args.cpu_threads)
        bench("fashion-dcgan", "cpu", 64, 40, 5, "eager fp32", ())
        bench("fashion-dcgan", "cpu", 256, 20, 3, "eager fp32", ())


if __name__ == "__main__":
    main()
