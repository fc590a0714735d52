"""RUN/status.json: running while a session trains, then finished, stopped or diverged; readers see a
killed run as stopped; the gankit.live package never imports torch."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.errors import DivergenceError
from gankit.live import status
from gankit.train import session
from tests.conftest import tiny_toy


def test_the_live_package_imports_no_torch() -> None:
    code = ("import sys, gankit.live.status, gankit.live.snapshots, gankit.live.control; "
            "bad = [m for m in ('torch', 'numpy', 'gankit.train', 'gankit.config') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_session_is_running_then_finished(tmp_path: Path) -> None:
    seen = []

    def look(trainer) -> None:
        if trainer.step == 3:
            seen.append(status.read_status(trainer.run_dir))

    run = session.train_new(tiny_toy(**{"train.steps": "6"}), tmp_path / "run", hooks=[look]).run_dir
    running = seen[0]
    assert running["state"] == "running" and running["pid"] == os.getpid()
    assert running["host"] == socket.gethostname() and running["step"] == 0 and running["control"] is False
    assert isinstance(running["started"], float) and running["paused"] is False
    ended = status.read_status(run)
    assert {k: ended[k] for k in ("state", "reason", "step")} == {"state": "finished", "reason": "steps", "step": 6}
    assert ended["ended"] >= running["started"]


def test_interrupted_is_stopped_and_a_resume_runs_again(tmp_path: Path) -> None:
    def stop(trainer) -> None:
        if trainer.step == 4:
            trainer.request_stop()

    run = session.train_new(tiny_toy(**{"train.steps": "8", "train.ckpt_every": "2"}), tmp_path / "run",
                            hooks=[stop]).run_dir
    assert status.read_status(run)["state"] == "stopped"
    assert status.read_status(run)["reason"] == "interrupted" and status.read_status(run)["step"] == 4
    seen = []
    session.resume(run, hooks=[lambda t: seen.append(status.read_status(run))])
    assert seen[0]["state"] == "running" and seen[0]["step"] == 4  # the step the session started from
    assert status.read_status(run)["state"] == "finished"


def test_time_budget_is_finished(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(**{"train.minutes": "0.000001"}), tmp_path / "run").run_dir
    assert {k: status.read_status(run)[k] for k in ("state", "reason")} == {"state": "finished",
                                                                            "reason": "time budget"}


def test_a_forced_nan_is_diverged(tmp_path: Path) -> None:
    def poison(trainer) -> None:
        if trainer.step == 13:
            with torch.no_grad():
                next(trainer.game.players["D"].parameters()).fill_(float("nan"))

    with pytest.raises(DivergenceError) as exc:
        session.train_new(tiny_toy(), tmp_path / "run", hooks=[poison])
    record = status.read_status(tmp_path / "run")
    assert record["state"] == "diverged" and record["reason"] == str(exc.value)
    assert "non-finite" in record["reason"] and "at step 13" in record["reason"]


def test_a_crash_is_stopped_with_the_error(tmp_path: Path) -> None:
    def crash(trainer) -> None:
        if trainer.step == 12:
            raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError):
        session.train_new(tiny_toy(), tmp_path / "run", hooks=[crash])
    assert status.read_status(tmp_path / "run")["reason"] == "error: RuntimeError: simulated failure"


def _running(run: Path, **changes) -> None:
    record = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "step": 7,
              "started": 1.0e9, "control": False, "paused": False, **changes}
    run.mkdir(exist_ok=True)
    (run / status.STATUS_FILE).write_text(json.dumps(record))


def test_a_running_record_of_a_dead_process_reads_as_stopped(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid is free now (reaped)
    _running(tmp_path, pid=child.pid)
    got = status.read_status(tmp_path)
    assert (got["state"], got["reason"], got["step"], got["pid"]) == ("stopped", "process gone", 7, child.pid)


def test_a_pid_reused_by_a_later_process_reads_as_stopped(tmp_path: Path) -> None:
    import time

    _running(tmp_path, started=time.time())  # this process started before its record was written: its own
    assert status.read_status(tmp_path)["state"] == "running"
    _running(tmp_path, started=1.0e6)  # a record from 1970: this process (same pid) started long after it
    assert status.read_status(tmp_path)["reason"] == "process gone"


def test_a_record_from_another_host_is_not_judged_here(tmp_path: Path) -> None:
    _running(tmp_path, host="elsewhere.example", pid=999_999_999)
    got = status.read_status(tmp_path)
    assert got["state"] == "running" and got["checked"] is False


def test_runs_from_before_status_json(tmp_path: Path) -> None:
    assert status.read_status(tmp_path) == {"state": "stopped", "reason": "no status.json"}
    (tmp_path / "scores.json").write_text(json.dumps({"schema": "gankit-scores/1", "train": {"modes": 8}}))
    assert status.read_status(tmp_path)["state"] == "finished"
    (tmp_path / status.STATUS_FILE).write_text("{torn")
    assert status.read_status(tmp_path)["state"] == "finished"
