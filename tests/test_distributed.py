"""DDP (train/distributed.py): N CPU processes (gloo) give the run of one process with the same global batch.

Most tests fork the processes from pytest and join them with env:// as torchrun does (fast: no new
interpreter); two run the real torchrun, once through `gankit train --nproc` and once with an explicit
c10d rendezvous.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import pytest
import torch

from gankit import batch_part, presets
from gankit import config as config_mod
from gankit.config import Config
from gankit.games.gan import GanGame
from gankit.nets.base import sample_noise
from gankit.train import checkpoint, outputs, process_group, rundir, session
from gankit.train.sync_batch_norm import sync_batch_norm

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")


# ---- helpers -----------------------------------------------------------------------------------------
@pytest.fixture
def no_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sample pictures, curves and end-of-run scores are rank 0's ordinary session code and take most of a
    tiny run's time (matplotlib); the forked tests skip them (the torchrun tests keep them)."""
    monkeypatch.setattr(session, "_sample", lambda *a, **k: None)
    monkeypatch.setattr(outputs, "finish", lambda *a, **k: {})


def _preset(name: str, **overrides: object) -> Config:
    _, values = presets.resolve(name)
    return config_mod.build(values, config_mod.parse_overrides([f"{k}={v}" for k, v in overrides.items()]))


def _ring8(preset: str = "ring8-gan", **extra: object) -> Config:
    """A ring8 preset with 16-unit nets: 50 steps of the global batch 64 (the preset's phases and losses)."""
    return _preset(preset, **{"nets.G.width": 16, "nets.D.width": 16, "train.steps": 50, "train.batch_size": 64,
                                   "train.log_every": 10, "train.ckpt_every": 25, "train.sample_every": 0,
                                   "train.live_every": 0, "train.progress": "false", "eval.n_samples": 200, **extra})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(rank: int, world: int, port: int, target: Callable[[], object]) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
    code = 0
    try:
        target()
    except BaseException:  # noqa: BLE001  (reported through the exit code; the traceback goes to stderr)
        traceback.print_exc()
        code = 1
    finally:
        process_group.end()
        os._exit(code)


def _ranks(world: int, target: Callable[[], object], timeout: float = 120) -> None:
    """target() in `world` forked processes joined as one job (what torchrun's environment gives)."""
    port = _free_port()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child, args=(rank, world, port, target)) for rank in range(world)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(deadline - time.monotonic(), 1))
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert codes == [0] * world, f"exit codes of the processes: {codes}"


def _save_rank_state(folder: Path) -> Callable:
    """A trainer hook: each process writes its final players and EMAs (test evidence, not a run file)."""
    def hook(trainer) -> None:  # noqa: ANN001
        if trainer.step == trainer.cfg.train.steps:
            state = {"players": {n: m.state_dict() for n, m in trainer.players.items()},
                     "ema": {n: e.module.state_dict() for n, e in trainer.emas.items()}}
            torch.save(state, folder / f"rank{trainer.ddp.rank if trainer.ddp else 0}.pt")
    return hook


def _assert_close(a: dict, b: dict, where: str = "", rel: float = 1e-5) -> None:
    """Nested state dicts: float tensors within `rel` (relative, in norm), others equal."""
    assert a.keys() == b.keys(), where
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            _assert_close(x, y, f"{where}/{key}", rel)
        elif torch.is_tensor(x) and x.is_floating_point():
            err = float((x - y).norm() / y.norm().clamp_min(1e-12))
            assert err <= rel, f"{where}/{key}: relative difference {err:.2e}"
        elif torch.is_tensor(x):
            assert torch.equal(x, y), f"{where}/{key}"


def _final(run: Path) -> dict:
    state = checkpoint.load_latest(run)
    return {"players": state["players"], "ema": {n: e["weights"] for n, e in state["ema"].items()}}


def _files(run: Path) -> set[str]:
    return {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and p.name != ".lock"}


def _equal_to_one_process(cfg: Config, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    session.train_new(cfg, one)
    _ranks(2, lambda: session.train_new(cfg, two, hooks=[_save_rank_state(tmp_path)]))
    _assert_close(_final(two), _final(one))
    # every process holds the same weights and EMAs (bit for bit): rank 0's checkpoint is everyone's state
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    _assert_close(r1, r0, rel=0.0)
    # rank 0 wrote the run as one process does; rank 1 wrote nothing (no other file or folder anywhere)
    assert _files(two) == _files(one)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "rank0.pt", "rank1.pt", "two"]
    rows1, rows2 = rundir.read_rows(one / rundir.METRICS_FILE), rundir.read_rows(two / rundir.METRICS_FILE)
    assert [r["step"] for r in rows2] == [r["step"] for r in rows1]
    for r1, r2 in zip(rows1, rows2):  # statistics averaged over the processes: the global batch's
        assert r2.keys() == r1.keys()
        for key in [k for k in r1 if k.startswith(("loss", "D(", "critic", "penalty"))]:
            assert r2[key] == pytest.approx(r1[key], rel=1e-5, abs=1e-7), (r1["step"], key)


# ---- the parts --------------------------------------------------------------------------------------
def test_each_process_draws_its_rows_of_the_global_batchs_noise_and_dropout() -> None:
    x = torch.zeros(4, 3, 5, 5).contiguous(memory_format=torch.channels_last)  # conv batches on the CPU
    images = torch.randn(8, 3, 5, 5).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    whole = (sample_noise("normal", 8, 2), torch.randn_like(torch.zeros_like(images)), torch.rand(8, 1),
             torch.nn.functional.dropout(images, 0.5, training=True))
    parts = []
    for rank in (0, 1):
        torch.manual_seed(0)
        dropout = batch_part.split_dropout(torch.nn.Sequential(torch.nn.Dropout(0.5)))
        with batch_part.part(rank, 2):
            parts.append((sample_noise("normal", 4, 2), batch_part.randn_like(x),
                          batch_part.rows(4, lambda m: torch.rand(m, 1)), dropout(images[4 * rank:4 * rank + 4])))
    for k in range(4):
        assert torch.equal(torch.cat([parts[0][k], parts[1][k]]), whole[k])
    assert parts[0][1].is_contiguous(memory_format=torch.channels_last)


def test_sync_batch_norm_is_batch_norm_on_the_global_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    bn = torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.5, 0.5)
    out = bn(x)
    grad_x, *grads = torch.autograd.grad((out * out.detach().cos()).sum() / 8, [x, *bn.parameters()])
    expected = {"out": out.detach(), "grad_x": grad_x, "running_var": bn.running_var.clone(), "grads": grads}

    def run() -> None:
        rank = process_group.start()
        torch.manual_seed(0)
        x_all = torch.randn(8, 3, 4, 4, dtype=torch.float64)
        local = x_all[rank * 4:(rank + 1) * 4].clone().requires_grad_(True)
        synced = sync_batch_norm(torch.nn.Sequential(torch.nn.BatchNorm2d(3).double()))[0]
        with torch.no_grad():
            synced.weight.copy_(bn.weight), synced.bias.copy_(bn.bias)
        out = synced(local)
        # this process's part of the global mean: sum over its rows / the global batch
        (out * out.detach().cos()).sum().div(8).backward()
        for p in synced.parameters():
            process_group.all_reduce(p.grad)
        torch.save({"out": out.detach(), "grad_x": local.grad, "running_var": synced.running_var,
                    "grads": [p.grad for p in synced.parameters()]}, tmp_path / f"{rank}.pt")

    _ranks(2, run)
    got = [torch.load(tmp_path / f"{r}.pt") for r in (0, 1)]
    assert torch.allclose(torch.cat([g["out"] for g in got]), expected["out"], atol=1e-12)
    assert torch.allclose(torch.cat([g["grad_x"] for g in got]), expected["grad_x"], atol=1e-12)
    for g in got:
        assert torch.allclose(g["running_var"], expected["running_var"], atol=1e-12)
        for a, b in zip(g["grads"], expected["grads"]):
            assert torch.allclose(a, b, atol=1e-12)


# ---- equality with one process -------------------------------------------------------------------
def test_ring8_gan_two_processes_equal_one(tmp_path: Path, no_pictures: None) -> None:
    _equal_to_one_process(_ring8(), tmp_path)


def test_gradient_penalty_two_processes_equal_one(tmp_path: Path, no_pictures: None) -> None:
    # WGAN-GP differentiates through D twice (double backward) and runs 5 critic phases per step
    _equal_to_one_process(_ring8("ring8-wgangp", **{"train.steps": 20}), tmp_path)


def test_ali_two_processes_equal_one(tmp_path: Path, no_pictures: None) -> None:
    # one backward stepping two optimisers (E and G), E's reparameterised noise, dropout in D (the paper's 0.2)
    _equal_to_one_process(_ring8("ring8-ali", **{"nets.E.width": 16, "nets.D.dropout": 0.2, "train.steps": 30}),
                          tmp_path)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST is not installed")
def test_fashion_dcgan_two_processes_equal_one(tmp_path: Path, no_pictures: None) -> None:
    # tiny DCGAN nets with batch norm in G and D: SyncBatchNorm gives the global batch's statistics.
    # 30 steps: these tiny nets meet a rounding-chaotic step within 50 (Adam on a ReLU channel of G that is
    # nearly dead), where even two single-process runs that differ only in memory layout part by 5e-4 to
    # 2.5e-2. Which seed meets it first depends on the CPU: on an AVX2 AMD EPYC seeds 0, 2 and 3 did, on an
    # AVX-512 Intel Xeon seed 1 did (5.6e-4 at 50 steps); seeds 0-2 stay within 1e-5 for 30 steps on both.
    # The control below keeps that floor in view.
    values = {"seed": 1, "data.limit": 512, "nets.z_dim": 16, "nets.G.width": 8, "nets.D.width": 8, "train.steps": 30,
              "train.batch_size": 16, "train.minutes": 0, "train.log_every": 10, "train.ckpt_every": 25,
              "train.sample_every": 0, "train.progress": "false", "eval.grid": 16}
    control = tmp_path.parent / f"{tmp_path.name}-layout"
    session.train_new(_preset("fashion-dcgan", **values, **{"train.channels_last": "false"}), control)
    _equal_to_one_process(_preset("fashion-dcgan", **values), tmp_path)
    _assert_close(_final(control), _final(tmp_path / "one"), "rounding floor (memory layout)")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST is not installed")
def test_the_evaluation_that_rank_0_alone_runs_draws_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # eval.every: rank 0 scores the EMA generator while the others wait; a random draw there would part its
    # streams from theirs (the per-step check stops such a run). The domain classifier's shell drew its init.
    from gankit.evaluate import during_training
    from gankit.metrics import features
    from gankit.train.loop import Trainer

    monkeypatch.setattr(during_training, "_REFERENCE", {})
    monkeypatch.setattr(features, "_NET_MEMO", {})
    trainer = Trainer(_preset("fashion-dcgan", **{"data.limit": 256, "nets.G.width": 8, "nets.D.width": 8}), tmp_path)
    state = torch.get_rng_state()
    assert "eval_fid" in trainer.evaluate()
    assert torch.equal(torch.get_rng_state(), state)


# ---- resume on another number of processes ------------------------------------------------------------
def _stop_at(step: int) -> Callable:
    def hook(trainer) -> None:  # noqa: ANN001  (Ctrl-C's path: the processes agree to stop after the next step)
        if trainer.step == step:
            trainer.request_stop()
    return hook


def test_checkpoint_of_two_processes_resumes_on_one_and_three(tmp_path: Path, no_pictures: None) -> None:
    # global batch 12: 1, 2 and 3 processes divide it. (Not with the mlp G's norm=batch: its linear layers keep a
    # bias before the batch norm, whose true gradient is 0, so Adam moves it by the sign of rounding noise, in one
    # process as in several; the fashion-dcgan test covers batch norm.)
    cfg = _ring8(**{"train.batch_size": 12, "train.steps": 40, "train.ckpt_every": 0})
    whole = tmp_path / "whole"
    session.train_new(cfg, whole)  # one process, uninterrupted
    stopped = tmp_path / "two"
    _ranks(2, lambda: session.train_new(cfg, stopped, hooks=[_stop_at(20)]))  # stopped after step 21
    assert checkpoint.load_latest(stopped)["step"] == 21
    on_three = tmp_path / "three"
    shutil.copytree(stopped, on_three)
    session.resume(stopped)  # 2 -> 1
    _ranks(3, lambda: session.resume(on_three))  # 2 -> 3
    for run in (stopped, on_three):
        _assert_close(_final(run), _final(whole), str(run.name))
        rows, expected = rundir.read_rows(run / rundir.METRICS_FILE), rundir.read_rows(whole / rundir.METRICS_FILE)
        assert [r["step"] for r in rows] == [r["step"] for r in expected]
        assert rows[-1]["loss_D"] == pytest.approx(expected[-1]["loss_D"], rel=1e-5)


def test_a_nan_on_one_process_rolls_every_process_back(tmp_path: Path, no_pictures: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # train.on_nan = rollback (train/rollback.py): the NaN of rank 1's D loss at step 13 is every process's
    # (the shared meter keeps the earliest bad step), all reload step 10 from rank 0's run directory and go on
    # with halved rates, as one process whose D loss was NaN at step 13
    loss = GanGame.loss

    def poisoned(self: GanGame, name: str, batch: dict, players: dict) -> tuple:
        value, stats = loss(self, name, batch, players)
        first = not getattr(self, "_poisoned", False)  # once: the retry after the rollback goes through
        if name == "D" and self._step == 13 and first and os.environ.get("RANK", "1") == "1":
            self._poisoned = True
            value = value * float("nan")
        return value, stats

    begin = GanGame.begin_step

    def begin_step(self: GanGame, step: int) -> None:
        self._step = step
        begin(self, step)

    monkeypatch.setattr(GanGame, "loss", poisoned)
    monkeypatch.setattr(GanGame, "begin_step", begin_step)
    cfg = _ring8(**{"train.steps": 20, "train.log_every": 5, "train.ckpt_every": 10, "train.on_nan": "rollback",
                    "train.lr_decay_start": 1})
    with pytest.warns(UserWarning, match="at step 13; rolled back to step 10"):
        session.train_new(cfg, tmp_path / "one")
    _ranks(2, lambda: session.train_new(cfg, tmp_path / "two"))
    _assert_close(_final(tmp_path / "two"), _final(tmp_path / "one"))
    assert [r for r in rundir.read_rows(tmp_path / "two" / rundir.METRICS_FILE) if "rollback" in r] == \
        [r for r in rundir.read_rows(tmp_path / "one" / rundir.METRICS_FILE) if "rollback" in r] != []


def test_batch_that_the_processes_do_not_divide_is_refused(tmp_path: Path) -> None:
    errors = tmp_path / "errors"
    errors.mkdir()

    def run() -> None:
        try:
            session.train_new(_ring8(**{"train.batch_size": 63}), tmp_path / "run")
        except Exception as exc:  # noqa: BLE001
            (errors / os.environ["RANK"]).write_text(f"{type(exc).__name__}: {exc}")

    _ranks(2, run)
    texts = {p.read_text() for p in errors.iterdir()}
    assert texts == {"UserError: train.batch_size=63 is the global batch; it must be a multiple of the 2 processes "
                     "(each takes batch_size / 2 examples)"}
    assert not (tmp_path / "run").exists()


# ---- the real torchrun ---------------------------------------------------------------------------------
def _env(tmp: Path) -> dict[str, str]:
    """The job's environment; its temporary files (torchrun's logs) in `tmp`."""
    tmp.mkdir()
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp)}


_SMALL = ["--set", "nets.G.width=16", "--set", "nets.D.width=16", "--set", "train.batch_size=64",
          "--set", "train.progress=false", "--set", "train.live_every=0", "--set", "eval.n_samples=200",
          "--set", "train.sample_every=0"]


def test_torchrun_c10d_rendezvous_two_processes(tmp_path: Path) -> None:
    # what docs/DISTRIBUTED.md gives for several machines, with one machine: c10d on a free local port
    torchrun = Path(sys.executable).with_name("torchrun")
    run = tmp_path / "run"
    cmd = [str(torchrun), "--nnodes", "1", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
           "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "test", "-m", "gankit", "train", "ring8-gan",
           "--out", str(run), "--steps", "20", "--set", "train.log_every=10", *_SMALL]
    done = subprocess.run(cmd, env=_env(tmp_path / "tmp"), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run directory:") == 1  # rank 0 prints; rank 1 prints nothing
    assert [r["step"] for r in rundir.read_rows(run / rundir.METRICS_FILE)] == [10, 20]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "tmp"]
    assert {"config.toml", "metrics.jsonl", "status.json", "curves.png", "progress.gif", "scores.json"} <= _files(run)


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [int(e[5:]) for e in env if e.startswith(b"RANK=")]
    return ranks[0] if ranks else None


def test_a_killed_process_ends_the_job_in_one_line_and_the_run_resumes(tmp_path: Path, no_pictures: None) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "ring8-gan", "--nproc", "2", "--out", str(run), "--steps", "100000",
           "--set", "train.ckpt_every=20", "--set", "train.log_every=20", *_SMALL]
    job = subprocess.Popen(cmd, env=_env(tmp_path / "tmp"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not checkpoint.committed(run) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        victims = [p for p in _descendants(job.pid) if _rank_of(p) == 1]
        assert len(victims) == 1, "rank 1's process not found"
        os.kill(victims[0], signal.SIGKILL)
        _, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:  # a failed test leaves no process of its job behind
            for pid in _descendants(job.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            job.kill()
    assert job.returncode == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith("gankit: error: training process 1 of 2 was killed by SIGKILL"), lines[0]
    assert lines[0].endswith(f"gankit train --resume {run} --nproc 2")
    # the newest checkpoint continues, on one process here
    reached = checkpoint.load_latest(run)["step"]
    result = session.resume(run, steps=reached + 10)
    assert result.step == reached + 10 and result.stopped_by == "steps"
