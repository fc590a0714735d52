"""A training session: a new run or a resumed one, from start to pictures and scores."""
from __future__ import annotations

import contextlib
import functools
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gankit import config as config_mod
from gankit.config import Config
from gankit.errors import DivergenceError, UserError
from gankit.files import atomic_write
from gankit.live import control as control_file
from gankit.live import status
from gankit.train import checkpoint, follower, outputs, process_group, rundir, tensorboard_log
from gankit.train import players as players_mod
from gankit.train.control_loop import Controller
from gankit.train.live2d import LiveWriter
from gankit.train.loop import Trainer
from gankit.train.tensorboard_log import TensorBoardLog

PROVENANCE_FILE = "provenance.json"  # which run's weights a run started from (nets.*.init_from)


@dataclass
class RunResult:
    run_dir: Path
    step: int
    stopped_by: str
    scores: dict[str, Any] = field(default_factory=dict)


def _sample(trainer: Trainer, board: TensorBoardLog | None = None) -> None:
    path = trainer.run_dir / "samples" / f"step-{trainer.step:08d}.png"
    outputs.render(trainer.game, trainer.sampling_players(), trainer.fixed_inputs, trainer.data, path,
                   title=f"step {trainer.step}")
    if board is not None:
        board.picture(path, trainer.step)


def _run(trainer: Trainer, resume_step: int | None, hooks: list | None = None, control: bool = False) -> RunResult:
    """One session, bracketed by RUN/status.json: "running" now, and at the end how it ended."""
    started = time.time()
    token = None
    if control:
        token = control_file.new_token(trainer.run_dir, [phase.name for phase in trainer.game.phases])
        print(f"control token: {token}  (dashboard: Pause/Step need it)", flush=True)
    else:
        control_file.remove(trainer.run_dir)  # an earlier session's token must not command this one
    status.write_running(trainer.run_dir, trainer.step, control=control, started=started)
    try:
        result = _train(trainer, resume_step, hooks, token, started)
    except BaseException as exc:
        if isinstance(exc, DivergenceError):
            state, why = "diverged", str(exc)
        else:
            state = "stopped"
            why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {type(exc).__name__}: {exc}"
        with contextlib.suppress(UserError):  # a full disk must not hide the error that ended the session
            status.write_ended(trainer.run_dir, state, why.splitlines()[0] if why else state, trainer.step)
        raise
    finally:
        if control:
            control_file.remove(trainer.run_dir)
    state = "stopped" if result.stopped_by == "interrupted" else "finished"
    status.write_ended(trainer.run_dir, state, result.stopped_by, result.step)
    return result


def _train(trainer: Trainer, resume_step: int | None, hooks: list | None, token: str | None,
           started: float) -> RunResult:
    cfg = trainer.cfg
    trainer.hooks.extend(hooks or [])
    log: rundir.MetricsLog | TensorBoardLog = rundir.MetricsLog(trainer.run_dir, resume_step)
    board = None
    if cfg.train.tensorboard:
        log = board = TensorBoardLog(log, trainer.run_dir, resume_step)
    try:
        return _session(trainer, log, board, token, started)
    finally:
        if board is not None:
            board.end()


def _session(trainer: Trainer, log: rundir.MetricsLog | TensorBoardLog, board: TensorBoardLog | None,
             token: str | None, started: float) -> RunResult:
    cfg = trainer.cfg
    live = LiveWriter.for_trainer(trainer)
    controller = Controller(trainer, token, log, live, started) if token is not None else None
    # In a log file (not a terminal) redraw rarely: every redraw is another line of text there.
    bar = tqdm(total=cfg.train.steps, initial=trainer.step, unit="step", disable=not cfg.train.progress,
               dynamic_ncols=True, file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 30,
               desc=trainer.run_dir.name)
    try:
        if trainer.step == 0:
            _sample(trainer, board)  # the untrained generator: the GIF's first frame
            if live is not None:
                live.write()
        stopped_by = trainer.run(log, functools.partial(_sample, board=board), bar, live=live, control=controller)
    finally:
        bar.close()
        log.close()
    trainer.save_checkpoint()
    if live is not None and live.written_at != trainer.step:
        live.write()  # the final state, when the schedule did not just write it
    if stopped_by == "interrupted":  # no extra picture: the resumed run's frames match an uninterrupted one
        return RunResult(trainer.run_dir, trainer.step, stopped_by)
    if not trainer.due(cfg.train.sample_every):
        _sample(trainer, board)  # the final state, when the schedule did not just draw it
    scores = outputs.finish(trainer.run_dir, trainer.game, trainer.sampling_players(), trainer.data,
                            cfg.eval.n_samples, cfg.seed, trainer.step, sampled_with=trainer.sampled_with)
    return RunResult(trainer.run_dir, trainer.step, stopped_by, scores)


def train_new(cfg: Config, out: Path, suffix: bool = False, hooks: list | None = None,
              control: bool = False) -> RunResult:
    """Train `cfg` in a fresh run directory (refused if `out` exists, unless `suffix`). A run that fails
    before its first checkpoint removes its directory again: it holds nothing to resume, and it would
    block its --out. With `control`, the session prints a token once and obeys the dashboard's pause,
    resume and step commands signed with it (gankit/live/control.py). Under torchrun, rank 0 runs this
    session and the other ranks train in step with it, writing nothing (train/follower.py)."""
    if process_group.start(control) > 0:
        return RunResult(*follower.follow(cfg, out, hooks))
    tensorboard_log.require(cfg)
    players_mod.absolute_init_from(cfg)  # the config names the run it builds on, wherever it is read from
    trainer = Trainer(cfg, out)  # bad data or nets are refused before a run directory is made
    trainer.run_dir = rundir.create(out, suffix)
    lock = rundir.RunLock(trainer.run_dir).acquire()
    try:
        config_mod.write(cfg, trainer.run_dir / rundir.CONFIG_FILE)
        if trainer.initialised_from:
            atomic_write(trainer.run_dir / PROVENANCE_FILE,
                         (json.dumps({"initialised_from": trainer.initialised_from}, indent=2) + "\n").encode())
        return _run(trainer, resume_step=None, hooks=hooks, control=control)
    except BaseException:
        if not checkpoint.committed(trainer.run_dir):
            shutil.rmtree(trainer.run_dir, ignore_errors=True)
        raise
    finally:
        lock.release()


def _restore(run_dir: Path, steps: int | None = None, device: str | None = None) -> Trainer:
    """A trainer restored from a run's newest good checkpoint; `steps` changes the run's length,
    `device` where it lives (neither is written back unless `steps` is given)."""
    rundir.require_run(run_dir)
    cfg = config_mod.load(run_dir / rundir.CONFIG_FILE)
    tensorboard_log.require(cfg)
    if device is not None:
        cfg.train.device = device
    if steps is not None:
        if steps < 0:
            raise UserError(f"--steps must be >= 0, got {steps}")
        cfg.train.steps = steps
    state = checkpoint.load_latest(run_dir, game=cfg.game.name)
    if steps is not None and steps < int(state["step"]):
        raise UserError(f"--steps {steps} is before the run's newest checkpoint (step {state['step']}); "
                        f"give --steps {state['step']} or more")
    trainer = Trainer(cfg, run_dir, restoring=True)
    trainer.load_state_dict(state)
    if steps is not None:  # only once the checkpoint has loaded: a refused resume changes nothing
        config_mod.write(cfg, run_dir / rundir.CONFIG_FILE)
    return trainer


def resume(run_dir: Path, steps: int | None = None, hooks: list | None = None, control: bool = False) -> RunResult:
    """Continue a run exactly where its newest good checkpoint left it (the one writer of the run);
    `control` as for train_new; under torchrun, as for train_new (on any number of processes)."""
    if process_group.start(control) > 0:
        return RunResult(*follower.follow(None, run_dir, hooks, steps=steps))
    rundir.require_run(run_dir)
    lock = rundir.RunLock(run_dir).acquire(announce=False)
    try:
        trainer = _restore(run_dir, steps)  # refusals here leave every file as it was
        lock.announce()
        return _run(trainer, resume_step=trainer.step, hooks=hooks, control=control)
    finally:
        lock.release()


def load_trainer(run_dir: Path) -> Trainer:
    """A whole trainer restored on the CPU from a run's newest checkpoint, with its dataset and
    optimisers (benchmarks that score snapshots use it); to sample or score, `train.restore.restore`
    is the light way (no dataset, no optimisers)."""
    return _restore(run_dir, device="cpu")
