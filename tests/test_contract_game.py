"""The coming games' shapes, end to end through the real code paths, on a test-only game
(tests/contract_game.py): three trained players and a packaged frozen one, one phase stepping two
optimisers, a paired field and an unpaired domain, a stateful pool in the checkpoint, named panels.
It trains, resumes exactly through a stop between checkpoints, samples and evaluates."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint, session
from gankit.train.loop import Trainer
from gankit.train.restore import restore, source_batch
from gankit.train.rundir import METRICS_FILE, read_rows, read_scores
from gankit.train.sampling import generate
from tests.contract_game import contract_cfg  # also registers the game, its dataset and its packaged net
from tests.test_game_contract import check_contract

def test_it_keeps_the_game_contract(tmp_path: Path) -> None:
    trainer = Trainer(contract_cfg(), tmp_path)
    check_contract(trainer.game, trainer.data)
    assert trainer.sampler.sample().keys() == {"x", "x_b", "u"}  # the domain's field joins every batch


def test_a_packaged_player_is_frozen_in_eval_mode_and_never_checkpointed(tmp_path: Path) -> None:
    run = session.train_new(contract_cfg(), tmp_path / "run").run_dir
    trainer = Trainer(contract_cfg(), tmp_path / "t")
    T = trainer.players["T"]
    assert not T.training and not any(p.requires_grad for p in T.parameters())
    x = torch.randn(5, 2)
    assert torch.equal(T(x), T(x))  # dropout is off
    trainer.train_step()
    assert not T.training and all(p.grad is None for p in T.parameters())
    state = checkpoint.load_latest(run)
    assert set(state["players"]) == {"E", "G", "D"} and set(state["ema"]) == {"E", "G"}
    assert len(state["game"]["pool"]) == 8  # the pool filled up and was saved with the run
    r = restore(run)
    assert torch.equal(r.players["T"](x), T(x))  # rebuilt from "the package"


def test_it_resumes_exactly_through_a_stop_between_checkpoints(tmp_path: Path) -> None:
    full = session.train_new(contract_cfg(), tmp_path / "full")

    def stop(trainer) -> None:
        if trainer.step == 7:  # checkpoints fall at 5 and 10
            trainer.request_stop()

    half = session.train_new(contract_cfg(), tmp_path / "half", hooks=[stop])
    assert half.step == 7
    resumed = session.resume(half.run_dir)
    a, b = checkpoint.load_latest(full.run_dir), checkpoint.load_latest(resumed.run_dir)
    for section in ("players", "ema"):
        for name in a[section]:
            sa = a[section][name] if section == "players" else a[section][name]["weights"]
            sb = b[section][name] if section == "players" else b[section][name]["weights"]
            assert all(torch.equal(sa[k], sb[k]) for k in sa), (section, name)
    assert torch.equal(a["game"]["pool"], b["game"]["pool"]) and torch.equal(a["game"]["rng"], b["game"]["rng"])
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in rows]  # noqa: E731
    assert strip(read_rows(resumed.run_dir / METRICS_FILE)) == strip(read_rows(full.run_dir / METRICS_FILE))


def test_it_samples_and_evaluates_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = session.train_new(contract_cfg(), tmp_path / "run").run_dir
    assert main(["sample", str(run), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert main(["evaluate", str(run), "--n", "64"]) == 0
    scores = read_scores(run)["evaluate"]
    # target_l1 compares each translation with its own ground truth: recomputed here independently
    r = restore(run)
    source = source_batch(r.cfg, r.game, 64, split="test")
    panels = generate(r.game, r.players, r.game.fixed_inputs(64, torch.Generator(), source=source))
    expected = (panels["fake"] - source["x_b"]).abs().mean().item()
    assert scores["target_l1"] == pytest.approx(expected, rel=1e-4)
    assert scores["reference"]["data"].startswith("contract-pairs:x_b")  # compared with the target domain
    assert main(["sample", str(run), "--label", "3", "--out", str(tmp_path / "y.png")]) == 2
    assert "cannot be asked for label=3" in capsys.readouterr().err
