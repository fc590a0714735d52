"""One writer per run: two real processes on one run directory, and a lock left by a killed process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gankit.train import checkpoint
from gankit.train.rundir import METRICS_FILE, read_rows

TINY = ["--set", "data.n_samples=2000", "--set", "nets.G.width=16", "--set", "nets.D.width=16",
        "--set", "train.batch_size=32", "--set", "train.progress=false", "--set", "eval.n_samples=200",
        "--set", "train.threads=1"]


def _gankit(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "gankit", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_second_writer_is_refused_and_the_first_finishes_consistently(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = _gankit("train", "ring8-gan", "--steps", "100000", "--out", str(run), "--set", "train.minutes=0.08",
                    "--set", "train.ckpt_every=200", *TINY, cwd=tmp_path)
    _wait_for(lambda: checkpoint.committed(run))
    second = _gankit("train", "--resume", str(run), "--steps", "1300", cwd=tmp_path)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert f"is being written by pid {first.pid}" in err and len(err.strip().splitlines()) == 1
    assert first.wait(timeout=120) == 0, first.stderr.read()
    rows = read_rows(run / METRICS_FILE)
    steps = [r["step"] for r in rows]
    assert steps == sorted(set(steps))  # no step logged twice
    last = checkpoint.load_latest(run)
    assert last["step"] == steps[-1] and last["config"]["train"]["steps"] == 100000
    assert "steps = 100000" in (run / "config.toml").read_text()  # the refused resume changed nothing


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = _gankit("train", "ring8-gan", "--steps", "100000", "--out", str(run), "--set", "train.ckpt_every=100",
                    *TINY, cwd=tmp_path)
    _wait_for(lambda: checkpoint.committed(run))
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert "pid" in (run / ".lock").read_text()  # the stale holder's note is still there
    step = checkpoint.load_latest(run)["step"]
    resumed = _gankit("train", "--resume", str(run), "--steps", str(step + 50), cwd=tmp_path)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert checkpoint.load_latest(run)["step"] == step + 50
