"""Per-example random draws that do not depend on how the global batch is split across processes.

Under DDP (train/distributed.py) each of W processes holds n = B / W consecutive examples of the global
batch of B: process r holds rows r*n ... (r+1)*n - 1. A draw of one row per example (z, interpolation
weights, instance noise, a caption's index) is made as one process would make it for all B examples,
and each process keeps its own rows (dropout masks too, with `Dropout`):

    rows(n, draw) = draw(W * n)[r * n : (r + 1) * n]

So every process consumes torch's random streams exactly as one process with the whole batch does: runs
with 1, 2 or 3 processes draw the same numbers for the same example, the streams stay equal on every
process (a checkpoint's random state is valid for any W), and no two processes share noise. Outside
`part(...)` (one process, sampling, evaluation) a draw is made as it always was: draw(n).

This module is a leaf (torch only), so nets, losses and games use it without importing training code.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

_rank, _world = 0, 1


@contextlib.contextmanager
def part(rank: int, world: int) -> Iterator[None]:
    """Draws inside are this process's rows of a draw for the global batch (process `rank` of `world`)."""
    global _rank, _world
    before = _rank, _world
    _rank, _world = rank, world
    try:
        yield
    finally:
        _rank, _world = before


def rows(n: int, draw: Callable[[int], Tensor]) -> Tensor:
    """`draw(m)` returns m rows; this process's n of them (draw(n) in one process)."""
    if _world == 1:
        return draw(n)
    return draw(n * _world)[_rank * n:(_rank + 1) * n]


def _like(x: Tensor, m: int) -> Tensor:
    """An empty tensor like x with m rows, in x's memory format (a random fill follows the memory order)."""
    channels_last = x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty((m, *x.shape[1:]), dtype=x.dtype, device=x.device, memory_format=fmt)


def randn_like(x: Tensor) -> Tensor:
    """torch.randn_like(x), one row per example of x, as rows of the global batch's draw."""
    if _world == 1:
        return torch.randn_like(x)
    return rows(len(x), lambda m: _like(x, m).normal_())


def rand_like(x: Tensor) -> Tensor:
    """torch.rand_like(x), one row per example of x, as rows of the global batch's draw."""
    if _world == 1:
        return torch.rand_like(x)
    return rows(len(x), lambda m: _like(x, m).uniform_())


class Dropout(nn.Dropout):
    """nn.Dropout whose mask, inside `part(...)`, is this process's rows of the mask for the global batch
    (without it, every process would draw the same mask for its own examples). On the CPU it is the mask
    torch itself draws for the whole batch: empty_like(x).bernoulli_(1 - p) / (1 - p)."""

    def forward(self, x: Tensor) -> Tensor:
        if _world == 1 or not self.training or not 0 < self.p < 1:
            return super().forward(x)
        keep = 1.0 - self.p
        return x * rows(len(x), lambda m: _like(x, m).bernoulli_(keep)).div_(keep)


def split_dropout(module: nn.Module) -> nn.Module:
    """Every nn.Dropout under `module` (in place) becomes a Dropout above, with the same rate."""
    for name, child in module.named_children():
        if type(child) is nn.Dropout:
            module.add_module(name, Dropout(child.p).train(child.training))
        else:
            split_dropout(child)
    return module


__all__ = ["Dropout", "part", "rand_like", "randn_like", "rows", "split_dropout"]
