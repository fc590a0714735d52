"""What a run does when a loss or a weight stops being finite: `train.on_nan`.

    stop      (the default) the DivergenceError ends the session: one line naming the step and the phase,
              exit status 2, status.json "diverged". The newest checkpoint is the last good state (health is
              checked before every checkpoint), so `gankit train --resume RUN` continues from it.
    rollback  reload the newest checkpoint (step C), halve every learning rate (lr_scale = 0.5**k after the
              k-th rollback) and train on from C; after MAX_ROLLBACKS rollbacks the next divergence stops
              the run as "stop" does, with a line saying so.

A rollback appends to metrics.jsonl a resume marker {"resumed_at": C}, so readers drop the rows the abandoned
trajectory logged after C, then {"step": C, "rollback": k, "lr_scale": 0.5**k, "reason": "..."}. It rewrites
the checkpoint of step C with the new count, so a run killed after a rollback resumes with the halved rates
(the count and scale are in every checkpoint: `Trainer.state_dict()["rollback"]`). The retry draws the same
batches and noise as the first try (the RNG states come from the checkpoint): only the rates differ, and a
rolled-back run that is killed and resumed still matches one that was not.

The time spent on the abandoned steps still counts against train.minutes. A divergence found while the
session is already stopping (Ctrl-C) is not rolled back: the session ends "diverged" and a resume retries.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from gankit.errors import DivergenceError, UserError
from gankit.train import checkpoint
from gankit.train.rundir import RESUME_KEY

if TYPE_CHECKING:
    from gankit.train.loop import Trainer
    from gankit.train.rundir import MetricsLog

MAX_ROLLBACKS = 3


@dataclass
class RollbackState:
    """How many times this run has rolled back; the learning rates are scaled by 0.5**count."""

    count: int = 0

    @property
    def lr_scale(self) -> float:
        return 0.5**self.count

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore the count; a checkpoint from before train.on_nan has none (no rollback yet)."""
        self.count = int(state["count"]) if state else 0


def recover(trainer: Trainer, log: MetricsLog, exc: DivergenceError, progress: Any = None) -> bool:
    """Roll `trainer` back to its newest checkpoint with halved learning rates, if train.on_nan allows:
    True when training may go on, False when `exc` should end the session (on_nan = "stop"). Raises a
    DivergenceError of its own when the rollbacks are used up or there is no checkpoint to go back to."""
    if trainer.cfg.train.on_nan != "rollback":
        return False
    done = trainer.rollback.count
    if done >= MAX_ROLLBACKS:
        raise DivergenceError(f"{exc}; stopped after {done} rollbacks with halved learning rates "
                              f"(train.on_nan = rollback allows {MAX_ROLLBACKS})")
    try:
        state = checkpoint.load_latest(trainer.run_dir, game=trainer.cfg.game.name)
    except UserError as why:
        raise DivergenceError(f"{exc}; no checkpoint to roll back to ({why})") from None
    spent = trainer.elapsed()
    trainer.load_state_dict(state)
    trainer._elapsed_before, trainer._session_start = spent, trainer.clock()  # wasted time still counts
    trainer.rollback.count = done + 1
    # The optimisers' param groups carry the rates from here on (they are in every checkpoint); with
    # train.lr_decay_start < 1, _set_lr applies lr_factor() * lr_scale at every step.
    trainer._set_lr()
    replica = getattr(trainer, "ddp", None)  # under torchrun (train/distributed.py): every process rolls back
    if replica is not None:  # each has read step C's checkpoint before rank 0 rewrites it
        torch.distributed.barrier()
    trainer._last_saved = -1  # rewrite step C's checkpoint: its copy on disk has the old count and rates
    trainer.save_checkpoint()
    scale = trainer.rollback.lr_scale
    log.write({RESUME_KEY: trainer.step})
    log.write({"step": trainer.step, "rollback": done + 1, "lr_scale": scale, "reason": str(exc)})
    if replica is None or replica.rank == 0:
        warnings.warn(f"{exc}; rolled back to step {trainer.step} with learning rates x{scale:g} "
                      f"(rollback {done + 1} of {MAX_ROLLBACKS}, train.on_nan = rollback)", stacklevel=2)
    if progress is not None:
        progress.n = trainer.step
    return True
