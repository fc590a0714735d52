"""Fault injection (#17): what a crash or a NaN leaves behind, and how a run comes back from it.

SIGKILL protocol (test_twenty_sigkills_then_resumes_equal_the_uninterrupted_run). One tiny ring8 run
(a TOML written into tmp_path; a row and a checkpoint every 2 steps, a picture every 32, 96 steps) is
trained once without interruption, in this process, through `gankit.cli.main`. The same config is trained
again as a second run that is killed with SIGKILL 20 times, each time resumed with `gankit train --resume
RUN`. Every session is a process of its own, forked from this one (multiprocessing "fork") and running
`gankit.cli.main`: torch is already imported, so a session starts in milliseconds rather than the ~2 s of
`python -m gankit` (tests/test_safety.py kills an exec'd `python -m gankit` once). The kill moments come
from a seeded RNG (`_plan`). Each of the first 19 has a target step, one in each 4-step stretch of the run
from step 6 on, so that however fast the machine, the run never outruns its plan (a kill lands at most about
an interval past its target, or past the session's first row):
  - 11 "step": once the session logs a row at or after the target, a further random fraction of one
    row-to-row interval (measured on the uninterrupted run), so the kill lands wherever the process then
    is: in a step, a row, a picture, a checkpoint write;
  - 2 "start": a random 0-0.5 s after the session starts, at the latest at its first row (while it restores);
  - 6 "hold" inside a checkpoint write, at the session's first save at or after the target: the session
    (patched in the child only; nothing in gankit) waits, and is killed, just before the rename of the .pt's
    temporary file, before the rename of the .json commit record, or before older checkpoints are pruned;
  - 1 "end", after the final row: in the final picture, checkpoint or the GIF (at the latest when it appears).
The first session is killed only after its first checkpoint (a run killed before one has nothing to resume).
After each kill the newest checkpoint loads without a fallback warning and status.json reads "stopped";
after a kill inside a checkpoint write the half-written checkpoint is not the one that loads. After the
last kill the run is resumed to its end. Then both kept checkpoints equal the uninterrupted run's in every
value (players, EMAs, optimisers, meter, sampler and RNG states, config; the training time aside), every
samples/*.png, progress.gif and curves.png is byte-identical, the metrics rows (rundir.read_rows; time and
img/s aside) and the train scores are equal, and no temporary file is left in the run directory.

NaN protocol (in-process, fast): GanGame.loss is patched to return NaN for phase D at a chosen step.
With train.on_nan = "stop" (the default) `gankit train` prints one line naming the step and the phase, exits
with status 2, status.json says "diverged", and the newest checkpoint equals what was saved before the NaN.
With "rollback" the run goes back to the last good checkpoint with halved learning rates (a metrics row
says so; a resume keeps the halved rates) and gives up after 3 rollbacks with a line saying so.
"""
from __future__ import annotations

import copy
import multiprocessing
import os
import random
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from gankit import config as config_mod
from gankit.cli import main
from gankit.errors import UserError
from gankit.games.gan import GanGame
from gankit.live.status import read_status
from gankit.train import checkpoint, session
from gankit.train.rollback import MAX_ROLLBACKS
from gankit.train.rundir import METRICS_FILE, read_rows, read_scores
from tests.conftest import tiny_toy

# ---- helpers -------------------------------------------------------------------------------------------


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a checkpoint's state, by dotted path."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, (list, tuple)):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): value}


def _assert_same_state(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    fa, fb = _flat(a), _flat(b)
    fa.pop("elapsed_s", None), fb.pop("elapsed_s", None)  # training time differs from run to run
    assert fa.keys() == fb.keys(), f"{what}: different keys {sorted(fa.keys() ^ fb.keys())[:5]}"
    differ = [k for k in fa if not (torch.equal(fa[k], fb[k]) if isinstance(fa[k], torch.Tensor) else fa[k] == fb[k])]
    assert not differ, f"{what}: {len(differ)} values differ, e.g. {differ[:5]}"


def _rows(run: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in read_rows(run / METRICS_FILE)]


def _write_config(path: Path, **overrides: str) -> Path:
    config_mod.write(tiny_toy(**overrides), path)
    return path


# ---- SIGKILL -------------------------------------------------------------------------------------------

STEPS, EVERY, SAMPLE_EVERY = 96, 2, 32
KILL_RUN = {"train.steps": str(STEPS), "train.log_every": str(EVERY), "train.ckpt_every": str(EVERY),
            "train.sample_every": str(SAMPLE_EVERY), "train.live_every": "48", "train.threads": "1"}
# where a checkpoint write is held and killed: before the rename of the .pt, of the .json, before pruning
HOLDS = ("pt", "json", "prune")


def _plan(rng: random.Random) -> list[tuple]:
    """20 kills: 19 with a target step, one in each 4-step stretch from step 6 on (so however fast the
    machine, the run cannot outrun its plan: a kill lands at most an interval past its target or past the
    session's first row), then one at the end. Delays are fractions f in [0, 1) of a time span.

        ("step", T, f)    f x one interval's time after the session's first row at a step >= T
        ("start", T, f)   f x 0.5 s after the session starts (restoring), at the latest at its first row
        ("hold", T, H)    inside the session's first checkpoint write at a step >= T, at hold H
        ("end", f)        f x 0.5 s after the final row, at the latest when progress.gif appears
    """
    kinds = ["step"] + rng.sample(["step"] * 10 + ["start"] * 2 + [f"hold-{h}" for h in HOLDS * 2], 18)
    plan: list[tuple] = []
    for i, kind in enumerate(kinds):  # the first is a "step": the first session reaches a checkpoint
        target = 6 + 4 * i + rng.randrange(4)
        plan.append(("hold", target, kind[5:]) if kind.startswith("hold") else (kind, target, rng.random()))
    return plan + [("end", rng.random())]


def _hold_in_checkpoint(target: int, stage: str, ready: Any) -> None:
    """In the child: at the first checkpoint save of a step >= `target`, signal `ready` and wait at `stage`."""
    real_replace, real_fsync_dir = os.replace, checkpoint.fsync_dir
    saving = [-1]  # the step of the checkpoint being written

    def hold() -> None:
        ready.set()
        time.sleep(120)  # the parent kills us here

    def replace(src: Any, dst: Any) -> None:
        dst = Path(dst)
        if dst.parent.name == checkpoint.CKPT_DIR:
            saving[0] = int(dst.name[5:13])
            if stage == dst.suffix[1:] and saving[0] >= target:
                hold()
        real_replace(src, dst)

    def fsync_dir(path: Path) -> None:
        if stage == "prune" and saving[0] >= target:
            hold()
        real_fsync_dir(path)

    os.replace = replace
    checkpoint.fsync_dir = fsync_dir


def _session(argv: list[str], log: str, hold: tuple | None, ready: Any) -> None:
    """A forked child: one `gankit` command, its output in `log`."""
    out = open(log, "w")
    os.dup2(out.fileno(), 1), os.dup2(out.fileno(), 2)
    sys.stdout = sys.stderr = out
    if hold is not None:
        _hold_in_checkpoint(*hold, ready)
    sys.exit(main(argv))


def _new_rows(run: Path, offset: int) -> list[int]:
    """Steps of the whole rows appended to metrics.jsonl after byte `offset`."""
    try:
        with open(run / METRICS_FILE, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
    except FileNotFoundError:
        return []
    return [int(line[9:].split(b",")[0]) for line in chunk[: chunk.rfind(b"\n") + 1].splitlines()
            if line.startswith(b'{"step": ')]


def _wait(proc: Any, until: Callable[[], Any], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert proc.is_alive(), f"the session ended (status {proc.exitcode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.002)


def _sleep_unless(seconds: float, cap: Callable[[], Any]) -> None:
    """Sleep `seconds`, or less once `cap()` is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not cap():
        time.sleep(0.002)


def _check_held_save(folder: Path, kill: tuple, pid: int, newest: int, before: list[str], after: list[str]) -> None:
    """What a kill inside a checkpoint write left: the held save loads only once its record is committed."""
    _, target, stage = kill
    if stage == "prune":  # committed, the older ones not yet pruned: the newest loads
        assert newest >= target and after[-1] == f"step-{newest:08d}.pt"
        assert len(after) == 3 or len(before) < 2, "pruned before the hold"
        return
    tmp = list(folder.glob(f".step-*.{stage}.{pid}.tmp"))
    assert len(tmp) == 1, f"no temporary file of the held .{stage} write"
    held = int(tmp[0].name[6:14])
    assert held >= target and not (folder / f"step-{held:08d}.json").exists() and newest < held
    if stage == "json":  # the .pt is in place, without its commit record
        assert (folder / f"step-{held:08d}.pt").exists()


@pytest.mark.slow
@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="sessions are forked")
def test_twenty_sigkills_then_resumes_equal_the_uninterrupted_run(tmp_path: Path) -> None:
    started = time.monotonic()
    toml = _write_config(tmp_path / "tiny.toml", **KILL_RUN)
    straight, run = tmp_path / "straight" / "run", tmp_path / "killed" / "run"  # one name: curves.png shows it
    straight.parent.mkdir(), run.parent.mkdir()
    assert main(["train", str(toml), "--out", str(straight)]) == 0
    times = [r["time"] for r in read_rows(straight / METRICS_FILE)]
    interval = sorted(b - a for a, b in zip(times, times[1:]))[len(times) // 2]  # a typical row-to-row time
    fork = multiprocessing.get_context("fork")
    plan = _plan(random.Random(17))
    assert len(plan) == 20
    landed: list[str] = []
    for i, kill in enumerate(plan + [None]):
        argv = ["train", str(toml), "--out", str(run)] if i == 0 else ["train", "--resume", str(run)]
        before = [p.name for p in checkpoint.committed(run)]
        offset = (run / METRICS_FILE).stat().st_size if (run / METRICS_FILE).exists() else 0
        ready = fork.Event()
        log = tmp_path / f"session-{i:02d}.log"
        hold = kill[1:] if kill is not None and kill[0] == "hold" else None
        proc = fork.Process(target=_session, args=(argv, str(log), hold, ready))
        proc.start()
        try:
            if kill is None:  # the last session runs to the end
                proc.join(120)
                assert proc.exitcode == 0, log.read_text()[-2000:]
                break
            if i == 0:
                _wait(proc, lambda: checkpoint.committed(run), "the first checkpoint")
            if kill[0] == "step":
                _wait(proc, lambda: [s for s in _new_rows(run, offset) if s >= kill[1]], f"the row of step {kill[1]}")
                first = min(s for s in _new_rows(run, offset) if s >= kill[1])
                _sleep_unless(kill[2] * interval, lambda: max(_new_rows(run, offset)) > first)
            elif kill[0] == "start":
                _sleep_unless(kill[2] * 0.5, lambda: _new_rows(run, offset))
            elif kill[0] == "hold":
                _wait(proc, ready.is_set, f"the checkpoint write of step {kill[1]} (held at {kill[2]})")
            else:
                _wait(proc, lambda: STEPS in _new_rows(run, offset), "the final row")
                _sleep_unless(kill[1] * 0.5, (run / "progress.gif").exists)
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join()
        assert proc.exitcode == -signal.SIGKILL, f"kill {i} {kill} came too late: {log.read_text()[-1500:]}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback to an older checkpoint: nothing committed is damaged
            newest = checkpoint.load_latest(run)["step"]
        after = [p.name for p in checkpoint.committed(run)]
        if kill[0] == "hold":
            _check_held_save(run / checkpoint.CKPT_DIR, kill, proc.pid, newest, before, after)
        assert read_status(run)["state"] == "stopped"
        landed.append(f"{kill[0]}{kill[2] if kill[0] == 'hold' else ''}@{newest}")
    print(f"\nkills (kind@newest checkpoint after it): {' '.join(landed)}; {time.monotonic() - started:.1f} s")

    names = [p.name for p in checkpoint.committed(straight)]
    assert [p.name for p in checkpoint.committed(run)] == names
    for name in names:
        _assert_same_state(checkpoint._load_one(straight / "checkpoints" / name, None),
                           checkpoint._load_one(run / "checkpoints" / name, None), name)
    pictures = sorted(p.relative_to(straight) for p in straight.glob("samples/*.png"))
    assert pictures == sorted(p.relative_to(run) for p in run.glob("samples/*.png"))
    for name in [*pictures, "progress.gif", "curves.png"]:
        assert (straight / name).read_bytes() == (run / name).read_bytes(), name
    assert _rows(run) == _rows(straight)
    assert read_scores(run)["train"] == read_scores(straight)["train"]
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")], "temporary files left behind"
    assert read_status(run)["state"] == "finished"


# ---- NaN -----------------------------------------------------------------------------------------------


def _poison(monkeypatch: pytest.MonkeyPatch, at: int, times: int = 10**9, phase: str = "D") -> list[int]:
    """GanGame.loss returns NaN for `phase` at step `at`, the first `times` times that step runs."""
    begin, loss = GanGame.begin_step, GanGame.loss
    hits: list[int] = []

    def begin_step(self: GanGame, step: int) -> None:
        self._fault_step = step
        begin(self, step)

    def poisoned(self: GanGame, name: str, batch: Any, players: Any) -> tuple:
        value, stats = loss(self, name, batch, players)
        if name == phase and self._fault_step == at and len(hits) < times:
            hits.append(at)
            value = value * float("nan")
        return value, stats

    monkeypatch.setattr(GanGame, "begin_step", begin_step)
    monkeypatch.setattr(GanGame, "loss", poisoned)
    return hits


def _keep_saved(monkeypatch: pytest.MonkeyPatch) -> dict[int, dict[str, Any]]:
    """A copy of the state given to each checkpoint.save, by step."""
    saved: dict[int, dict[str, Any]] = {}
    real = checkpoint.save

    def save(run_dir: Path, step: int, state: dict[str, Any], game: str, keep: int = 2) -> Path:
        saved[step] = copy.deepcopy(state)
        return real(run_dir, step, state, game, keep)

    monkeypatch.setattr(checkpoint, "save", save)
    return saved


def test_a_nan_stops_the_run_with_one_line_and_keeps_the_last_good_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    toml = _write_config(tmp_path / "tiny.toml")
    _poison(monkeypatch, at=13)
    saved = _keep_saved(monkeypatch)
    run = tmp_path / "run"
    assert main(["train", str(toml), "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gankit: error: training diverged: the D loss became non-finite (NaN/inf) at step 13"]
    assert [p.name for p in checkpoint.committed(run)] == ["step-00000010.pt"]  # found at step 15, before any save
    _assert_same_state(checkpoint.load_latest(run), saved[10], "the last good checkpoint")
    status = read_status(run)
    assert status["state"] == "diverged" and "D loss" in status["reason"] and "step 13" in status["reason"]


def test_on_nan_rollback_halves_the_learning_rates_and_a_resume_keeps_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = {"train.on_nan": "rollback", "train.lr_decay_start": "1"}
    hits = _poison(monkeypatch, at=13, times=1)
    said = r"at step 13; rolled back to step 10 with learning rates x0.5 \(rollback 1 of 3"
    with pytest.warns(UserWarning, match=said):
        result = session.train_new(tiny_toy(**overrides), tmp_path / "rolled")
    assert (result.step, result.stopped_by, hits) == (20, "steps", [13])
    rows = read_rows(result.run_dir / METRICS_FILE)
    event = [r for r in rows if "rollback" in r]
    assert event == [{"step": 10, "rollback": 1, "lr_scale": 0.5,
                      "reason": "training diverged: the D loss became non-finite (NaN/inf) at step 13"}]
    assert [r["step"] for r in rows if "rollback" not in r] == [5, 10, 15, 20]  # the abandoned try's rows dropped
    state = checkpoint.load_latest(result.run_dir)
    assert state["rollback"] == {"count": 1, "lr_scale": 0.5}
    lr = tiny_toy().optim.D.lr
    assert {g["lr"] for o in state["optimizers"].values() for g in o["param_groups"]} == {lr / 2}
    assert read_status(result.run_dir)["state"] == "finished"

    # The same run crashing right after its rollback, before any new checkpoint, then resumed: the rollback
    # rewrote step 10's checkpoint with the halved rates, so the resume ends with the same weights and rows.
    hits.clear()

    def crash(trainer: Any) -> None:
        if hits and trainer.step == 12:
            raise RuntimeError("simulated crash")

    with pytest.warns(UserWarning, match="rolled back"), pytest.raises(RuntimeError, match="simulated crash"):
        session.train_new(tiny_toy(**overrides), tmp_path / "crashed", hooks=[crash])
    assert checkpoint.load_latest(tmp_path / "crashed")["rollback"] == {"count": 1, "lr_scale": 0.5}
    resumed = session.resume(tmp_path / "crashed")
    assert resumed.step == 20
    _assert_same_state(checkpoint.load_latest(resumed.run_dir), state, "resumed after a rollback")
    assert _rows(resumed.run_dir) == _rows(result.run_dir)


def test_on_nan_rollback_gives_up_after_three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    toml = _write_config(tmp_path / "tiny.toml", **{"train.on_nan": "rollback"})
    hits = _poison(monkeypatch, at=13)  # every time: halving the rates does not help
    run = tmp_path / "run"
    assert main(["train", str(toml), "--out", str(run)]) == 2
    assert hits == [13] * (MAX_ROLLBACKS + 1)
    err = capsys.readouterr().err.strip().splitlines()
    assert sum(line.startswith("gankit: warning:") and "rolled back to step 10" in line for line in err) == 3
    assert err[-1] == ("gankit: error: training diverged: the D loss became non-finite (NaN/inf) at step 13; "
                       "stopped after 3 rollbacks with halved learning rates (train.on_nan = rollback allows 3)")
    events = [(r["rollback"], r["lr_scale"]) for r in read_rows(run / METRICS_FILE) if "rollback" in r]
    assert events == [(1, 0.5), (2, 0.25), (3, 0.125)]
    assert checkpoint.load_latest(run)["rollback"]["count"] == 3
    assert read_status(run)["state"] == "diverged"


def test_on_nan_rollback_before_any_checkpoint_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _poison(monkeypatch, at=2)
    with pytest.raises(UserError, match=r"at step 2; no checkpoint to roll back to"):
        session.train_new(tiny_toy(**{"train.on_nan": "rollback"}), tmp_path / "run")


def test_on_nan_takes_stop_or_rollback() -> None:
    assert tiny_toy().train.on_nan == "stop"
    with pytest.raises(UserError, match="train.on_nan.*stop or rollback"):
        tiny_toy(**{"train.on_nan": "retry"})
