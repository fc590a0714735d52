"""Ranks 1..N-1 of a torchrun job: the same training steps as rank 0, in step with it, writing nothing.

Rank 0 runs the ordinary session (train/session.py): run directory, lock, config, metrics, pictures,
checkpoints, status, live snapshots, scores. A follower runs the same schedule (train/schedule.py) so that
it meets rank 0 at every collective (gradient averages, batch-norm sums, the per-step agreement, the
metrics rows' averages), with a log that keeps nothing, no pictures, no checkpoint files and no scores.
Its weights come from rank 0 (train/distributed.py broadcasts them), so it never reads `init_from` runs;
a resume reads the run's config.toml and newest checkpoint as rank 0 does (on several machines, the run
directory must be on storage they share).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from gankit import config as config_mod
from gankit.config import Config
from gankit.errors import UserError
from gankit.train import checkpoint, rundir
from gankit.train.loop import Trainer


class Follower(Trainer):
    """A Trainer that writes nothing: its checkpoints are only the health check every rank makes, and the
    scores of metrics rows that only rank 0 writes are not computed."""

    def save_checkpoint(self) -> None:
        self.check_health()

    def evaluate(self) -> dict[str, float]:
        return {}


class _NoLog:
    """What the schedule writes metrics rows to on a follower: nothing."""

    def write(self, row: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def follow(cfg: Config | None, run_dir: Path, hooks: list | None = None,
           steps: int | None = None) -> tuple[Path, int, str]:
    """Train as rank > 0: `cfg` for a new run (rank 0 makes its directory from `run_dir`, the --out it was
    given), or None to resume `run_dir` (its config, `steps` as for session.resume, its newest checkpoint).
    Returns the run directory (rank 0's), the last step and why training stopped."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (rank 0 prints the summary; this process ends with the run)
    state = None
    if cfg is None:
        rundir.require_run(run_dir)
        cfg = config_mod.load(run_dir / rundir.CONFIG_FILE)
        if steps is not None:
            cfg.train.steps = steps
        state = checkpoint.load_latest(run_dir, game=cfg.game.name)
        if int(state["step"]) > cfg.train.steps:
            raise UserError(f"--steps {steps} is before the run's newest checkpoint (step {state['step']})")
    trainer = Follower(cfg, run_dir, restoring=True)
    if state is not None:
        trainer.load_state_dict(state)
    trainer.hooks.extend(hooks or [])
    stopped_by = trainer.run(_NoLog(), lambda _: None)  # type: ignore[arg-type]
    trainer.save_checkpoint()
    return trainer.run_dir, trainer.step, stopped_by
