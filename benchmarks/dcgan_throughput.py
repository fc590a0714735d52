"""DCGAN Fashion-MNIST step: gankit's loop vs a bare PyTorch loop of the very same modules.

Prints images/s (generator-step batches per second x batch size) for each variant, the
framework/bare ratio, and the peak resident memory of a real `gankit train fashion-dcgan` run.

    .venv/bin/python benchmarks/dcgan_throughput.py [--batch 64 256] [--steps 60] [--repeats 5]

Both loops do the same work per step: D on a real batch and a no-grad fake batch, then G through a
frozen D, Adam on each, EMA of G. Variants alternate (ABAB...) and the median is reported, so a
slow moment of the machine does not favour one side.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import gankit  # noqa: F401
from gankit import config as C
from gankit import presets
from gankit.train.ema import EMA
from gankit.train.loop import Trainer, load_data


def make_trainer(batch: int, channels_last: bool) -> Trainer:
    _, values = presets.resolve("fashion-dcgan")
    cfg = C.build(values, C.parse_overrides([f"train.batch_size={batch}", f"train.channels_last={channels_last}",
                                              "train.progress=false"]))
    return Trainer(cfg, Path(tempfile.mkdtemp()))


class BareLoop:
    """The same G, D, Adam and EMA as the trainer, stepped by hand."""

    def __init__(self, trainer: Trainer) -> None:
        self.G, self.D = trainer.players["G"], trainer.players["D"]
        self.opt_g, self.opt_d = trainer.optimizers["G"], trainer.optimizers["D"]
        self.ema = EMA(self.G, 0.999)
        self.x = trainer.data.x
        self.batch = trainer.cfg.train.batch_size
        self.z_dim = trainer.cfg.nets.z_dim
        self.gen = torch.Generator().manual_seed(0)

    def step(self) -> None:
        x = self.x[torch.randint(len(self.x), (self.batch,), generator=self.gen)]
        self.D.requires_grad_(True)
        self.G.requires_grad_(False)
        with torch.no_grad():
            fake = self.G(torch.randn(self.batch, self.z_dim))
        loss_d = F.softplus(-self.D(x)).mean() + F.softplus(self.D(fake)).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        loss_g = F.softplus(-self.D(self.G(torch.randn(self.batch, self.z_dim)))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.ema.update()


def images_per_s(step, batch: int, steps: int) -> float:
    for _ in range(3):  # warm-up: allocator, mkldnn primitives
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t)


def peak_memory_mb(seconds: int = 40) -> float:
    """Peak RSS (VmHWM) of a real training run in a child process, in MB.

    Read from /proc while the child runs: getrusage(RUSAGE_CHILDREN) would count the pages a forked
    child shares with this (large) benchmark process before it execs, and overstate the figure."""
    out = Path(tempfile.mkdtemp()) / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gankit", "train", "fashion-dcgan", "--out", str(out),
                             "--set", f"train.minutes={seconds / 60}", "--set", "train.progress=false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kb = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        time.sleep(0.2)
    return peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    load_data(C.build({"data": {"name": "fashion-mnist"}}))  # fail early if the data is missing
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for batch in args.batch:
        runs: dict[str, list[float]] = {"gankit": [], "bare": [], "gankit contiguous": []}
        fw, fw_cf = make_trainer(batch, True), make_trainer(batch, False)
        bare = BareLoop(make_trainer(batch, True))
        steps = max(8, args.steps * 64 // batch)
        for _ in range(args.repeats):
            runs["gankit"].append(images_per_s(fw.train_step, batch, steps))
            runs["bare"].append(images_per_s(bare.step, batch, steps))
            runs["gankit contiguous"].append(images_per_s(fw_cf.train_step, batch, steps))
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"batch {batch}: " + ", ".join(f"{k} {v:.0f} img/s" for k, v in med.items()))
        print(f"  gankit / bare = {med['gankit'] / med['bare']:.3f}   (framework overhead {100 * (1 - med['gankit'] / med['bare']):+.1f}%)")
        print(f"  channels_last / contiguous = {med['gankit'] / med['gankit contiguous']:.3f}")
    if not args.no_memory:
        print(f"peak RSS of `gankit train fashion-dcgan` (40 s): {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
