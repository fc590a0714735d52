"""Nothing lost: SIGKILL mid-run then resume gives the same weights and the same sample bytes;
Ctrl-C checkpoints before exiting."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint

ARGS = ["ring8-gan", "--steps", "3000", "--set", "data.n_samples=2000", "--set", "nets.G.width=16",
        "--set", "nets.D.width=16", "--set", "train.batch_size=32", "--set", "train.progress=false",
        "--set", "eval.n_samples=200", "--set", "train.sample_every=0", "--set", "train.ckpt_every=100",
        "--set", "train.log_every=50", "--set", "train.threads=1"]


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gankit", "train", *ARGS, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(proc: subprocess.Popen, run: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not checkpoint.committed(run):
        assert proc.poll() is None, f"run ended before its first checkpoint: {proc.communicate()[1][-300:]}"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.02)


def _final_weights(run: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.load_latest(run)
    return {f"{p}.{k}": v for p, sd in state["players"].items() for k, v in sd.items()} | {
        f"ema.{k}": v for k, v in state["ema"]["G"]["weights"].items()}


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    assert main(["train", *ARGS, "--out", str(tmp_path / "straight")]) == 0
    killed = tmp_path / "killed"
    proc = _start(killed)
    _wait_for_checkpoint(proc, killed)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = checkpoint.load_latest(killed)["step"]
    assert 0 < interrupted_at < 3000, "the kill must land mid-run"
    assert main(["train", "--resume", str(killed)]) == 0
    straight, resumed = _final_weights(tmp_path / "straight"), _final_weights(killed)
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    for run in ("straight", "killed"):
        assert main(["sample", str(tmp_path / run), "--seed", "5", "--n", "500", "--out", str(tmp_path / f"{run}.png")]) == 0
    assert (tmp_path / "straight.png").read_bytes() == (tmp_path / "killed.png").read_bytes()


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _start(run)
    _wait_for_checkpoint(proc, run)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-500:]
    assert "Traceback" not in err
    stopped_at = int(out.split("(step ")[1].split(",")[0])
    assert "stopped by interrupted" in out
    assert checkpoint.load_latest(run)["step"] == stopped_at  # the step it stopped at, not an older periodic one
