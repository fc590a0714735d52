"""Switches for a fast GPU step (issue #17): compiled players and bf16 autocast.

The `fashion-dcgan` step on an H200 is bound by kernel launches (6.35 ms at batch 64 and hardly more at batch
1024, BENCHMARKS.md). `train.compile=reduce-overhead` compiles each player with torch.compile, which fuses its
kernels and, on a GPU, replays the forward and backward passes as CUDA graphs: one launch for a whole pass.
`train.precision=bf16` runs the games' forward passes under bf16 autocast (no loss scaling: bf16 has float32's
range); weights, optimiser state, EMA and the backward's accumulation stay float32.

Both are off by default, so the CPU path is the one measured in BENCHMARKS.md: on this CPU torch.compile cost
0.78x (and 45 s of compilation) and bf16 has no fast kernels on an AVX2-only CPU.

The players are compiled in place (`nn.Module.compile`), so their state_dict keys do not change: a checkpoint
written with compilation on resumes with it off, and the other way round. EMA copies are made before
compilation and stay eager: sampling runs rarely, on other batch sizes.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Iterator, Mapping

import torch
from torch import nn

COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")
PRECISIONS = ("fp32", "bf16")


def prepare(players: Mapping[str, nn.Module], mode: str, precision: str, device: torch.device) -> None:
    """Compile the players as train.compile asks; warn where train.precision=bf16 will not pay."""
    if precision == "bf16" and device.type == "cpu":
        warnings.warn("train.precision=bf16 on the CPU: without native bf16 instructions (AVX2-only CPUs) the "
                      "passes run slower, not faster (10x on this project's machine); it is meant for GPUs",
                      stacklevel=2)
    compile_players(players, mode, device)


def compile_players(players: Mapping[str, nn.Module], mode: str, device: torch.device) -> None:
    """Compile every player in place with torch.compile(mode=mode); nothing for mode "off"."""
    if mode == "off":
        return
    if mode != "default" and device.type != "cuda":
        warnings.warn(f"train.compile={mode}: CUDA graphs need a GPU; on the {device.type} this is plain "
                      "compilation (which did not pay on this project's CPUs, BENCHMARKS.md)", stacklevel=2)
    for module in players.values():
        if any(True for _ in module.parameters()):  # players without weights have nothing to fuse
            module.compile(mode=mode)


def mark_step(mode: str, device: torch.device) -> None:
    """Tell the CUDA-graph runtime that a new training iteration begins, so the outputs of the last one may be
    overwritten (PyTorch's advice: once per iteration). Within a step, tensors kept from one phase for the
    next (ALI's pairs) stay valid; anything kept across steps is copied (CycleGAN's image pool)."""
    if mode in ("reduce-overhead", "max-autotune") and device.type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """bf16 autocast around a game's forward passes (train.precision=bf16); a no-op for fp32."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield
