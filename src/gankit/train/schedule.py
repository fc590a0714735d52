"""The outer schedule of a training session: steps, log rows, pictures, checkpoints, stopping.

    while step < train.steps: train_step(); every log_every: a metrics.jsonl row; every sample_every:
    a picture; every ckpt_every: a checkpoint; every live_every: a live 2D snapshot; with --control, the
    dashboard's commands; Ctrl-C, SIGTERM or train.minutes: stop after the current step (with a checkpoint).

A run that ends (its steps done, or its time budget spent) between log steps writes one last row for
its final step, so every run has its last state in metrics.jsonl and curves.png, however short. A run
stopped by Ctrl-C does not: its resumed continuation logs exactly the rows of an uninterrupted run.
"""
from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Any, Callable

from gankit.train.rundir import MetricsLog

if TYPE_CHECKING:
    from gankit.train.control_loop import Controller
    from gankit.train.live2d import LiveWriter
    from gankit.train.loop import Trainer


def _write_row(trainer: Trainer, log: MetricsLog, progress: Any, since: tuple[float, int]) -> tuple[float, int]:
    """One metrics.jsonl row for the current step; returns (time, step) of this row."""
    tcfg = trainer.cfg.train
    now = time.monotonic()
    row: dict[str, Any] = {"step": trainer.step, "time": round(trainer.elapsed(), 3)}
    rate = (trainer.step - since[1]) * tcfg.batch_size / max(now - since[0], 1e-9)
    row.update(trainer.meter.flush(), img_per_s=round(rate, 1), diversity=trainer.diversity())
    if trainer._probe_real is not None:  # 2D data: how far the samples are from the data
        row["sinkhorn_to_data"] = trainer.distance_to_data()
    if trainer.due(trainer.cfg.eval.every):
        row.update(trainer.evaluate())
    log.write(row)
    if progress is not None:
        shown = {k: f"{v:.3g}" for k, v in row.items() if k.startswith(("loss", "D(", "critic"))}
        budget = {"budget_left": f"{60 * tcfg.minutes - trainer.elapsed():.0f}s"} if tcfg.minutes else {}
        progress.set_postfix({"img/s": f"{rate:.0f}", **budget, **shown}, refresh=False)
    return now, trainer.step


def run_schedule(trainer: Trainer, log: MetricsLog, on_sample: Callable[[Trainer], None], progress: Any = None,
                 live: LiveWriter | None = None, control: Controller | None = None) -> str:
    """Train until train.steps or train.minutes; returns why it stopped. Every live.every steps a live 2D
    snapshot; after each step, `control` obeys the dashboard's commands (a pause holds here, and its time
    counts neither against train.minutes nor in img/s)."""
    tcfg = trainer.cfg.train
    trainer._session_start = trainer.clock()
    last = (time.monotonic(), trainer.step)
    previous = signal.signal(signal.SIGINT, trainer.request_stop)
    previous_term = signal.signal(signal.SIGTERM, trainer.request_stop)  # `kill`, a job scheduler: as Ctrl-C
    reason = "steps"
    try:
        while trainer.step < tcfg.steps:
            trainer.train_step()
            if progress is not None:
                progress.update(1)
            if trainer.due(tcfg.log_every) or trainer.due(tcfg.ckpt_every) or trainer.due(trainer.cfg.eval.every):
                last = _write_row(trainer, log, progress, last)
            if trainer.due(tcfg.sample_every):
                on_sample(trainer)
            if trainer.due(tcfg.ckpt_every):
                trainer.save_checkpoint()
            if live is not None and trainer.due(live.every):
                live.write()
            if control is not None:
                held = control.between_steps()
                last = (last[0] + held, last[1])
            if trainer._stop_requested:
                reason = "interrupted"
                break
            if tcfg.minutes and trainer.elapsed() > 60 * tcfg.minutes:
                reason = "time budget"
                break
        if reason != "interrupted" and last[1] != trainer.step:
            _write_row(trainer, log, progress, last)  # the final state of a run that ends between rows
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    return reason
