"""Data-parallel training over N processes (torchrun): one global batch, the result of one process.

    torchrun --nproc-per-node N -m gankit train PRESET ...      (or: gankit train PRESET ... --nproc N)

Every process builds the same Trainer (same seed, so the same weights and random streams) and `attach`
makes it one of W replicas (process r of W); train.batch_size stays the *global* batch B:

- Batch: every process draws the same global index from the one seeded sampler and keeps its contiguous
  n = B / W rows (`BatchSampler.part`: no duplicates, no gaps). Per-example random draws inside a loss
  (z, interpolation weights, noise) are this process's rows of the draw for all B (gankit/batch_part.py),
  so the random streams advance as in one process and stay equal on every process.
- Gradients: averaged over the processes just before each optimiser step (a step pre-hook: one flat
  all_reduce per optimiser), for exactly the parameters that optimiser updates. With per-example mean
  losses, the average of the W local gradients is the gradient of the global mean. We do not wrap players
  in torch's DistributedDataParallel: games call a player several times per phase, call D in G's phase
  with D frozen, differentiate through D twice for gradient penalties and step two optimisers after one
  backward (ALI), each of which DDP's reducer needs workarounds for (find_unused_parameters, static
  graphs, no double backward); the average before the step is what DDP computes, whatever the game does.
- Batch norm: train/sync_batch_norm.py (torch.nn.SyncBatchNorm runs on CUDA only): training statistics of
  the global batch, differentiable both ways, so forward and backward equal one process's BatchNorm.
  Dropout: `batch_part.Dropout`, this process's rows of the global batch's mask.
- Weights, optimiser states and EMAs: broadcast from rank 0 once, then equal on every process by
  construction (same averaged gradients, same updates); the EMA needs no communication.
- Statistics: `SharedMeter` averages the stats over the processes before each metrics row.
- Stopping: after every step the processes agree (one all_reduce of a few numbers) on rank 0's clock
  (train.minutes) and on whether any was asked to stop (Ctrl-C, SIGTERM), so all stop after the same step;
  the same numbers check that they are at the same step with the same random state.
- Writing: rank 0 runs the session (run directory, metrics, pictures, checkpoints, status, live
  snapshots); ranks > 0 run train/follower.py and write nothing. A checkpoint is rank 0's state, which is
  every process's state, and holds the global sampler and random states: it resumes on any number of
  processes that divides the batch.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ContextManager

import torch
import torch.distributed as dist
from torch import nn

from gankit import batch_part
from gankit.errors import UserError
from gankit.train import players as players_mod
from gankit.train import process_group
from gankit.train.meter import Meter
from gankit.train.sync_batch_norm import sync_batch_norm

NO_BAD_STEP = 2**62  # "no non-finite loss yet" while taking the minimum over processes


# ---- statistics ---------------------------------------------------------------------------------
class SharedMeter(Meter):
    """A Meter whose sums are averaged over the processes before they are read (every metrics row), and
    whose first non-finite step is the earliest of any process, so every process raises the same
    DivergenceError at the same row."""

    def __init__(self, world: int) -> None:
        super().__init__()
        self.world = world

    def reduce(self) -> None:
        """Every process's sums become the average over the processes (idempotent: once averaged, they
        are equal everywhere); a checkpoint taken between rows then holds the global figures."""
        keys = list(self._sums)  # the same order on every process: the same code added them
        if keys:
            flat = torch.stack([self._sums[k].reshape(()) for k in keys])
            process_group.all_reduce(flat)
            flat /= self.world
            self._sums = dict(zip(keys, flat.unbind()))
        phases = list(self._first_bad)
        if phases:
            bad = torch.stack([self._first_bad[p] for p in phases])
            bad = torch.where(bad < 0, torch.full_like(bad, NO_BAD_STEP), bad)
            process_group.all_reduce(bad, dist.ReduceOp.MIN)
            bad = torch.where(bad == NO_BAD_STEP, torch.full_like(bad, -1), bad)
            self._first_bad = {p: b.clone() for p, b in zip(phases, bad.unbind())}

    def flush(self) -> dict[str, float]:
        self.reduce()
        return super().flush()


# ---- one replica of the training state -----------------------------------------------------------
class Replica:
    """Process `rank` of `world` training one Trainer in step with the others (see the module docstring)."""

    def __init__(self, rank: int, world: int) -> None:
        self.rank, self.world = rank, world
        self.elapsed: float | None = None  # rank 0's Trainer.elapsed() as agreed after the last step
        self.stop_asked = False  # Ctrl-C / SIGTERM seen by this process, not yet agreed
        self._run_dir_shared = False

    def part(self) -> ContextManager[None]:
        """Random draws inside a loss: this process's rows of the global batch's draw."""
        return batch_part.part(self.rank, self.world)

    def average_gradients(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        """Optimizer step pre-hook: each gradient becomes its mean over the processes."""
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        for dtype in sorted({g.dtype for g in grads}, key=str):  # the same order on every process
            same = [g for g in grads if g.dtype == dtype]
            flat = torch.cat([g.reshape(-1) for g in same])
            process_group.all_reduce(flat)
            flat /= self.world
            for g, chunk in zip(same, flat.split([g.numel() for g in same])):
                g.copy_(chunk.view(g.shape))

    def after_step(self, trainer: Any) -> None:
        """Trainer hook: agree on rank 0's clock and on stopping; check that every process is at the same
        step with the same random state (a draw made on one process only would break the run silently)."""
        if not self._run_dir_shared:  # followers learn rank 0's run directory (a rollback reads it)
            trainer.run_dir = Path(process_group.broadcast_object(str(trainer.run_dir)))
            self._run_dir_shared = True
        self.elapsed = None
        step, rng = float(trainer.step), float(torch.get_rng_state().double().sum())  # exact in float64
        # rank 0 fills the slots of its clock, step and random state; every process adds its stop request
        mine = [trainer.elapsed(), step, rng] if self.rank == 0 else [0.0, 0.0, 0.0]
        agreed = torch.tensor([*mine, float(self.stop_asked)], dtype=torch.float64, device=trainer.device)
        process_group.all_reduce(agreed)
        elapsed, step0, rng0, stops = agreed.tolist()
        if (step0, rng0) != (step, rng):
            what = "step" if step0 != step else "random state (a draw made on some processes only?)"
            raise RuntimeError(f"process {self.rank} of {self.world} is not at rank 0's {what} "
                               f"after step {trainer.step}")
        self.elapsed = elapsed
        if stops:
            trainer._stop_requested = True
            trainer.meter.reduce()  # the checkpoint of an interrupted run keeps the global partial sums

    def request_stop(self) -> None:
        self.stop_asked = True


def part(replica: Replica | None) -> ContextManager[None]:
    """What Trainer.run_phase computes a loss in: the replica's rows of random draws, or nothing special."""
    return replica.part() if replica is not None else contextlib.nullcontext()


def attach(trainer: Any) -> Replica | None:
    """Make `trainer` (fully built, before any checkpoint is loaded) one replica of the torchrun job this
    process joined with `start`; None (and nothing changed) in a single process."""
    if not process_group.active():
        return None
    rank, world = dist.get_rank(), dist.get_world_size()
    cfg = trainer.cfg
    batch = cfg.train.batch_size
    if batch % world:
        raise UserError(f"train.batch_size={batch} is the global batch; it must be a multiple of the {world} "
                        f"processes (each takes batch_size / {world} examples)")
    pack = int(getattr(trainer.game, "pack", 1) or 1)
    if (batch // world) % pack:
        raise UserError(f"game.pack={pack}: each process's {batch // world} examples must form whole packs; "
                        f"give train.batch_size a multiple of {world * pack}")
    if trainer.device.type == "cuda":
        local_world = process_group.env_int("LOCAL_WORLD_SIZE", world)
        if trainer.device.index is not None and local_world > 1:
            raise UserError(f"train.device={cfg.train.device} puts every process on one GPU; use train.device=cuda "
                            "(each process takes the GPU of its LOCAL_RANK)")
        if local_world > torch.cuda.device_count():
            raise UserError(f"{local_world} processes on this machine but {torch.cuda.device_count()} CUDA GPU(s): "
                            "start at most one process per GPU")
    replica = Replica(rank, world)
    packaged = players_mod.packaged_players(cfg)
    for name, module in trainer.players.items():
        if name not in trainer.frozen:  # (frozen players run in eval mode: no batch statistics, no dropout)
            batch_part.split_dropout(sync_batch_norm(module))
    shared = [m for n, m in trainer.players.items() if n not in packaged] + [e.module for e in trainer.emas.values()]
    _broadcast(shared)  # rank 0's weights (init_from included): followers skip loading other runs
    for opt in trainer.optimizers.values():
        opt.register_step_pre_hook(replica.average_gradients)
    n = batch // world
    trainer.sampler.part = slice(rank * n, (rank + 1) * n)
    trainer.meter = SharedMeter(world)
    trainer.hooks.insert(0, replica.after_step)
    return replica


@torch.no_grad()
def _broadcast(modules: list[nn.Module]) -> None:
    """Every parameter and buffer of `modules` set to rank 0's values (one broadcast per dtype)."""
    tensors = [t for m in modules for t in (*m.parameters(), *m.buffers())]
    for dtype in sorted({t.dtype for t in tensors}, key=str):
        same = [t for t in tensors if t.dtype == dtype]
        flat = torch.cat([t.reshape(-1) for t in same])
        process_group.broadcast(flat)
        for t, chunk in zip(same, flat.split([t.numel() for t in same])):
            t.copy_(chunk.view(t.shape))


__all__ = ["Replica", "SharedMeter", "attach", "part"]
