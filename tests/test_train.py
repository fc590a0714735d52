"""The loop: determinism, exact resume, checkpoints that verify, divergence detection."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from gankit.errors import DivergenceError, UserError
from gankit.train import checkpoint, session
from gankit.train.loop import load_data
from gankit.train.restore import restore
from gankit.train.rundir import METRICS_FILE, read_rows, read_scores
from gankit.train.sampling import generate
from tests.conftest import tiny_images, tiny_toy


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.load_latest(run_dir)
    flat = {f"{p}.{k}": v for p, sd in state["players"].items() for k, v in sd.items()}
    flat.update({f"ema.{k}": v for k, v in state["ema"]["G"]["weights"].items()})
    return flat


def test_same_seed_same_weights(tmp_path: Path) -> None:
    a = session.train_new(tiny_toy(), tmp_path / "a")
    b = session.train_new(tiny_toy(), tmp_path / "b")
    wa, wb = _weights(a.run_dir), _weights(b.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = session.train_new(tiny_toy(seed="1"), tmp_path / "c")
    assert not all(torch.equal(wa[k], _weights(c.run_dir)[k]) for k in wa)


def _rows(run_dir: Path) -> list[dict]:
    """The run's history as every reader sees it (resume markers honoured)."""
    return [{k: v for k, v in row.items() if k not in ("time", "img_per_s")} for row in read_rows(run_dir / METRICS_FILE)]


@pytest.mark.parametrize("make_cfg, stop_at", [(tiny_toy, 7), (tiny_images, 5)])
def test_resume_is_exact(tmp_path: Path, make_cfg, stop_at: int) -> None:
    full = session.train_new(make_cfg(), tmp_path / "full")
    steps = make_cfg().train.steps

    def stop(trainer) -> None:  # as Ctrl-C would, between log rows and checkpoints: finish the step, save, stop
        if trainer.step == stop_at:
            trainer.request_stop()

    half = session.train_new(make_cfg(), tmp_path / "half", hooks=[stop])
    assert (half.step, half.stopped_by) == (stop_at, "interrupted")
    before = (half.run_dir / METRICS_FILE).read_bytes()
    resumed = session.resume(half.run_dir)
    after = (resumed.run_dir / METRICS_FILE).read_bytes()
    assert after.startswith(before), "metrics.jsonl is append-only: a reader never sees it shrink"
    marker = json.loads(after[len(before):].splitlines()[0])
    assert marker == {"resumed_at": stop_at}  # Ctrl-C checkpoints the step it stopped at
    assert _rows(resumed.run_dir) == _rows(full.run_dir), "the same log rows, none lost or duplicated"
    pictures = lambda run: sorted(p.name for p in (run / "samples").iterdir())  # noqa: E731
    assert pictures(resumed.run_dir) == pictures(full.run_dir)
    assert resumed.step == steps
    wf, wr = _weights(full.run_dir), _weights(resumed.run_dir)
    assert wf.keys() == wr.keys()
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


def test_a_crash_between_checkpoints_resumes_with_the_same_history(tmp_path: Path) -> None:
    """Killed at step 13 (rows 11-12 logged, newest checkpoint at 10): the resume appends a marker and
    logs 11-12 again; readers drop the crashed session's rows after 10, so the history matches a run
    that never crashed, while the file itself only grew."""
    full = session.train_new(tiny_toy(**{"train.log_every": "1"}), tmp_path / "full")

    def crash(trainer) -> None:
        if trainer.step == 13:
            raise RuntimeError("simulated kill")

    with pytest.raises(RuntimeError, match="simulated kill"):
        session.train_new(tiny_toy(**{"train.log_every": "1"}), tmp_path / "crashed", hooks=[crash])
    run = tmp_path / "crashed"
    raw = [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in raw][-2:] == [11, 12]  # the hook runs before step 13 is logged
    session.resume(run)
    raw = [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()]
    assert {"resumed_at": 10} in raw and sum(r.get("step") == 12 for r in raw) == 2  # appended, not rewritten
    assert _rows(run) == _rows(full.run_dir)


def test_a_resume_with_no_steps_left_rewrites_no_checkpoint(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(), tmp_path / "run").run_dir
    before = {p.name: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()}
    result = session.resume(run)
    assert result.step == 20
    assert {p.name: p.stat().st_mtime_ns for p in (run / "checkpoints").iterdir()} == before


@pytest.mark.parametrize("make_cfg", [tiny_toy, tiny_images])
def test_a_picture_drawn_from_the_checkpoint_is_the_one_training_drew(tmp_path: Path, make_cfg) -> None:
    """restore() gives the players exactly as training had them (EMA copies, eval mode, the memory layout
    of a conv net on the CPU): the same inputs give the same bytes as the run's last sample picture."""
    from gankit.train import outputs

    cfg = make_cfg()
    run = session.train_new(cfg, tmp_path / "run").run_dir
    r = restore(run)
    n = cfg.eval.grid if make_cfg is tiny_images else min(cfg.eval.n_samples, 2500)
    inputs = r.game.fixed_inputs(n, torch.Generator().manual_seed(cfg.seed + 2))
    data = load_data(r.cfg)
    outputs.render(r.game, r.players, inputs, data, tmp_path / "again.png", title=f"step {r.step}")
    last = run / "samples" / f"step-{r.step:08d}.png"
    assert (tmp_path / "again.png").read_bytes() == last.read_bytes()


def test_outputs_of_a_toy_run(tmp_path: Path) -> None:
    result = session.train_new(tiny_toy(), tmp_path / "run")
    run = result.run_dir
    for name in ("config.toml", "metrics.jsonl", "progress.gif", "curves.png", "scores.json"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step-00000000.png", "step-00000010.png", "step-00000020.png"]
    scores = read_scores(run)["train"]
    assert {"modes", "high_quality", "reverse_kl"} <= set(scores)
    assert len(checkpoint.committed(run)) == 2  # keeps the last two


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_checkpoint_is_refused_and_does_not_run(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(), tmp_path / "run").run_dir
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    newest = checkpoint.committed(run)[-1]
    data = pickle.dumps({"step": 1, "x": Evil()})
    newest.write_bytes(data)
    import hashlib
    record = json.loads(newest.with_suffix(".json").read_text())
    record.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())  # a valid checksum: only the loader can stop it
    newest.with_suffix(".json").write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="refused"):
        state = checkpoint.load_latest(run)  # falls back to the previous, good checkpoint
    assert state["step"] == 10
    assert not marker.exists()


def test_truncated_checkpoint_falls_back(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(), tmp_path / "run").run_dir
    newest = checkpoint.committed(run)[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(UserWarning, match="truncated or corrupt"):
        assert checkpoint.load_latest(run)["step"] == 10


def test_checkpoint_from_another_game_is_refused(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(), tmp_path / "run").run_dir
    with pytest.raises(UserError, match="from game 'gan'"):
        checkpoint.load_latest(run, game="cyclegan")


def test_nan_stops_with_step_and_phase(tmp_path: Path) -> None:
    def poison(trainer) -> None:
        if trainer.step == 13:
            with torch.no_grad():
                next(trainer.game.players["D"].parameters()).fill_(float("nan"))

    with pytest.raises(DivergenceError, match=r"the D loss became non-finite .* at step 13"):
        session.train_new(tiny_toy(), tmp_path / "run", hooks=[poison])
    # the last good checkpoint (step 10) still resumes
    assert checkpoint.load_latest(tmp_path / "run")["step"] == 10
    assert session.resume(tmp_path / "run").step == 20


def test_linear_lr_decay(tmp_path: Path) -> None:
    from gankit.train.loop import Trainer

    trainer = Trainer(tiny_toy(**{"train.lr_decay_start": "0.5"}), tmp_path)  # 20 steps: decay over 10..20
    factors = {}
    for step in (0, 9, 10, 15, 20):
        trainer.step = step
        factors[step] = trainer.lr_factor()
    assert factors == {0: 1.0, 9: 1.0, 10: 1.0, 15: 0.5, 20: 0.0}
    trainer.step = 15
    trainer._set_lr()
    assert trainer.optimizers["G"].param_groups[0]["lr"] == pytest.approx(1e-4)


def test_mode_collapse_hint(tmp_path: Path) -> None:
    from gankit.train.loop import Trainer

    trainer = Trainer(tiny_toy(**{"train.ema": "false"}), tmp_path)
    last = trainer.game.players["G"].net[-1]
    with torch.no_grad():
        last.weight.mul_(1000)  # spread out like the data: healthy
    assert trainer.diversity() > 0.5
    with torch.no_grad():  # a generator that ignores z: every sample is the same point
        last.weight.zero_()
    with pytest.warns(UserWarning, match="possible mode collapse at step 0"):
        assert trainer.diversity() == 0.0


def test_a_conditional_toy_run_learns_to_draw_the_asked_mode(tmp_path: Path) -> None:
    """ring8 with the mode index as the class: after 1,000 steps (~3 s) G puts samples asked for class k
    nearest to mode k (measured: 99.9%; 42% after 400 steps; 1/8 if the label were ignored)."""
    cfg = tiny_toy(**{"game.conditional": "true", "train.steps": "1000", "nets.G.width": "32", "nets.D.width": "32",
                      "optim.G.lr": "1e-3", "optim.D.lr": "1e-3", "train.sample_every": "0", "train.ckpt_every": "0",
                      "train.log_every": "100"})
    run = session.train_new(cfg, tmp_path / "run").run_dir
    r = restore(run)
    inputs = r.game.fixed_inputs(800, torch.Generator().manual_seed(1))
    assert torch.equal(inputs["label"], torch.arange(800) % 8)  # every class asked for in turn
    fake = generate(r.game, r.players, inputs)["fake"]
    nearest = torch.cdist(fake.double(), load_data(r.cfg).mixture.means.double()).argmin(1)
    assert (nearest == inputs["label"]).float().mean() > 0.9


def test_evaluation_during_training_adds_curves_and_does_not_change_the_training(tmp_path: Path) -> None:
    plain = session.train_new(tiny_toy(), tmp_path / "plain")
    scored = session.train_new(tiny_toy(**{"eval.every": "10"}), tmp_path / "scored")
    rows = [json.loads(line) for line in (scored.run_dir / "metrics.jsonl").read_text().splitlines()]
    evaluated = [row["step"] for row in rows if "eval_modes" in row]
    assert evaluated == [10, 20] and all("eval_sliced_w2" in row for row in rows if row["step"] in evaluated)
    wa, wb = _weights(plain.run_dir), _weights(scored.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "scoring must not consume the training's random numbers"


def test_a_cpu_clock_budget_counts_this_process_cpu_time_not_the_wall(tmp_path: Path, monkeypatch) -> None:
    """train.clock=cpu: a budget in CPU-minutes, which other programs on the machine cannot shrink. A
    process asleep uses no CPU time, so the budget is not spent while the wall clock runs on."""
    import time as time_mod

    from gankit.train.loop import Trainer

    trainer = Trainer(tiny_toy(**{"train.clock": "cpu"}), tmp_path / "run")
    trainer._session_start = trainer.clock()
    time_mod.sleep(0.3)
    assert trainer.elapsed() < 0.1  # asleep: no CPU time
    sum(i * i for i in range(2_000_000))  # busy: CPU time
    assert trainer.elapsed() > 0.02
    wall = Trainer(tiny_toy(), tmp_path / "wall")
    wall._session_start = wall.clock()
    time_mod.sleep(0.3)
    assert wall.elapsed() >= 0.3
