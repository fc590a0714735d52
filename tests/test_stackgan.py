"""StackGAN stage by stage: stage II loads a finished stage-I run, keeps it frozen, records where it
came from, and shows and scores both stages for the same prompts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.train import checkpoint
from gankit.train.restore import restore

pytestmark = pytest.mark.slow

COMMON = ["--set", "data.n_samples=300", "--set", "train.batch_size=16", "--set", "train.sample_every=2",
          "--set", "train.ckpt_every=2", "--set", "train.progress=false", "--set", "eval.grid=16"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stackgan")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(root / "cache"))
        assert main(["train", "shapes-stackgan1", "--steps", "4", "--out", str(root / "s1"), *COMMON,
                     "--set", "nets.G.width=8", "--set", "nets.D.width=8"]) == 0
        assert main(["train", "shapes-stackgan2", "--steps", "4", "--out", str(root / "s2"), *COMMON,
                     "--set", "nets.G1.width=8", "--set", f"nets.G1.init_from={root / 's1'}:G",
                     "--set", "nets.G2.width=8", "--set", "nets.D.width=8"]) == 0
    return root


def test_stage1_is_loaded_and_stays_frozen(runs: Path) -> None:
    stage1 = checkpoint.load_latest(runs / "s1")["ema"]["G"]["weights"]
    stage2 = checkpoint.load_latest(runs / "s2")["players"]["G1"]
    for k, v in stage1.items():
        assert torch.equal(v, stage2[k]), k  # 4 steps of stage II did not move G1
    prov = json.loads((runs / "s2" / "provenance.json").read_text())
    assert str((runs / "s1").resolve()) in prov["initialised_from"]["G1"]
    assert f'init_from = "{(runs / "s1").resolve()}:G"' in (runs / "s2" / "config.toml").read_text()


def test_both_stages_drawn_and_scored(runs: Path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(runs / "cache"))
    run = restore(runs / "s2")
    g = torch.Generator().manual_seed(0)
    inputs = run.game.fixed_inputs(4, g, source={"caption": torch.ones(4, 16, dtype=torch.int64) * 3})
    panels = run.game.generate(run.players, inputs)
    assert list(panels) == ["stage1", "fake"] and panels["fake"].shape == panels["stage1"].shape == (4, 3, 64, 64)
    assert main(["evaluate", str(runs / "s2"), "--n", "60", "--metrics", "fid"]) == 0
    sets = json.loads((runs / "s2" / "scores.json").read_text())["evaluate"]["asked"]["sets"]
    first = sets["training captions"]
    assert "exact_match" in first["stage1"] and "fid_attribute_features" in first["stage1"]
    assert "judge_ceiling_resampled" in first["stage1"] and "fid_resampled_real" in first["stage1"]
    assert "stage I exact match" in (runs / "s2" / "report.html").read_text()


def test_stage2_needs_a_frozen_stage1_and_the_right_sides(runs: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(runs / "cache"))
    base = ["train", "shapes-stackgan2", "--steps", "2", *COMMON, "--set", "nets.G1.width=8",
            "--set", f"nets.G1.init_from={runs / 's1'}:G", "--set", "nets.G2.width=8", "--set", "nets.D.width=8"]
    assert main([*base, "--out", str(runs / "x1"), "--set", "nets.G1.frozen=false"]) == 2
    assert "stays frozen" in capsys.readouterr().err
    assert main([*base, "--out", str(runs / "x2"), "--set", "data.resolution=32"]) == 2
    assert "refines 32 px" in capsys.readouterr().err
    assert main([*base, "--out", str(runs / "x3"), "--set", f"nets.G1.init_from={runs / 'nowhere'}:G"]) == 2
    capsys.readouterr()
    assert main([*base, "--out", str(runs / "x4"), "--set", "nets.G1.init_from="]) == 2
    assert "refines a finished stage-I run" in capsys.readouterr().err
    assert not any((runs / n).exists() for n in ("x1", "x2", "x3", "x4"))
