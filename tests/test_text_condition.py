"""Text conditioning end to end on a tiny `shapes` run: the learned encoder, GAN-CLS mismatch,
conditioning augmentation, mode seeking, `gankit sample --prompt`, and the asked-for scores."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.nets.base import ConditionSpec
from gankit.nets.conditioning import Augmented, condition_encoder, one_caption, text_tokens
from gankit.nets.text import LearnedTextEncoder
from gankit.errors import UserError

TINY = ["--set", "data.n_samples=300", "--set", "nets.G.width=8", "--set", "nets.D.width=8", "--set", "nets.z_dim=8",
        "--set", "train.batch_size=16", "--set", "train.sample_every=2", "--set", "train.ckpt_every=2",
        "--set", "train.log_every=1", "--set", "train.progress=false", "--set", "eval.grid=16"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("text")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(root / "cache"))
        assert main(["train", "shapes-text", "--steps", "4", "--out", str(root / "run"), *TINY,
                     "--set", "game.augment_kl=1", "--set", "game.mode_seeking=1"]) == 0
    return root / "run"


def test_encoder_ignores_padding_and_reads_words() -> None:
    enc = LearnedTextEncoder(20, 6).eval()
    a = torch.tensor([[3, 4, 5, 0, 0, 0]])
    b = torch.tensor([[3, 4, 5, 0]])
    assert torch.allclose(enc(a), enc(b), atol=1e-6)
    assert not torch.allclose(enc(a), enc(torch.tensor([[3, 4, 6, 0]])))


def test_projection_starts_small_for_text() -> None:
    from gankit.nets.conditioning import Projection

    p = Projection(256, ConditionSpec("tokens", 30, tuple(f"w{i}" for i in range(30)), (4, 8)))
    e = p.embed(torch.randint(2, 30, (64, 8))).detach()
    assert 0.005 < float(e.std()) < 0.05  # like a class table initialised N(0, 0.02^2)


def test_augmentation_kl_and_eval_mean() -> None:
    aug = Augmented(condition_encoder(ConditionSpec("label", 5), 4), 4)
    c = torch.arange(5)
    aug.train()
    assert not torch.equal(aug(c), aug(c))  # sampled
    aug.eval()
    assert torch.equal(aug(c), aug(c))  # the mean
    assert float(aug.kl(c).detach()) >= 0


def test_one_caption_picks_per_row() -> None:
    torch.manual_seed(0)
    c = torch.arange(2 * 3 * 4).view(2, 3, 4)
    picked = one_caption(c)
    assert picked.shape == (2, 4) and all(any(torch.equal(picked[i], c[i, k]) for k in range(3)) for i in range(2))
    assert one_caption(c[:, 0]) is not None and torch.equal(one_caption(c[:, 0]), c[:, 0])


def test_prompt_errors() -> None:
    spec = ConditionSpec("tokens", 5, ("<pad>", "<unk>", "red", "circle", "a"), (4, 3))
    assert text_tokens(spec, "a red circle").tolist() == [[4, 2, 3]]
    with pytest.raises(UserError, match="empty"):
        text_tokens(spec, " ,. ")
    with pytest.raises(UserError, match="vocabulary"):
        text_tokens(spec, "zebra")
    with pytest.warns(UserWarning, match="reads the first 3"):
        assert text_tokens(spec, "a red circle circle").shape == (1, 3)


def test_trained_and_logged(run: Path) -> None:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"D(x,wrong)", "kl_CA", "ms_ratio"} <= set(rows[-1])


def test_sample_prompts_grid_and_npy(run: Path, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(run.parent / "cache"))
    out = tmp_path / "p.png"
    assert main(["sample", str(run), "--prompt", "un grand carré bleu en bas", "--prompt", "a small red circle",
                 "--n", "3", "--out", str(out)]) == 0
    arr = np.load(tmp_path / "p.npy")
    assert arr.shape == (2, 3, 3, 32, 32) and arr.dtype == np.float32
    assert (tmp_path / "p.prompts.txt").read_text().splitlines() == ["un grand carré bleu en bas", "a small red circle"]
    prompts = tmp_path / "list.txt"
    prompts.write_text("a red star\n\nune croix verte\n")
    assert main(["sample", str(run), "--prompts", str(prompts), "--out", str(tmp_path / "q.png")]) == 0
    assert np.load(tmp_path / "q.npy").shape[:2] == (2, 8)


@pytest.mark.parametrize("args, message", [
    (["--prompt", ""], "is empty"),
    (["--prompt", "zebra quartz"], "vocabulary"),
    (["--tags", "red"], "not on tags"),
    (["--prompts", "/nonexistent/list.txt"], "no such file"),
    (["--prompt", "a red circle", "--label", "1"], "exclude each other"),
])
def test_bad_prompts_one_line_nothing_written(run: Path, tmp_path, monkeypatch, capsys, args, message) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(run.parent / "cache"))
    assert main(["sample", str(run), *args, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_prompt_to_label_or_unconditional_run(tmp_path, capsys) -> None:
    from tests.test_fuzz_cli import FAST

    assert main(["train", "ring8-gan", "--steps", "2", "--out", str(tmp_path / "toy"), *FAST]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "toy"), "--prompt", "a red circle", "--out", str(tmp_path / "x.png")]) == 2
    assert "unconditional" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_evaluate_writes_asked_scores(run: Path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(run.parent / "cache"))
    assert main(["evaluate", str(run), "--n", "60", "--metrics", "fid"]) == 0
    asked = json.loads((run / "scores.json").read_text())["evaluate"]["asked"]
    assert list(asked["sets"]) == ["training captions", "unseen paraphrases", "French prompts", "held-out combinations"]
    first = asked["sets"]["training captions"]
    assert 0 <= first["exact_match"] <= 1 and set(first["per_attribute"]) == {"shape", "colour", "size", "position"}
    assert first["exact_match"] <= min(first["per_attribute"].values())  # all right implies each right
    assert set(first["judge_ceiling"]["per_attribute"]) == set(first["per_attribute"])
    assert asked["diversity"]["spread_ratio"] is not None
    assert "Did it draw what was asked?" in (run / "report.html").read_text()


def test_auxiliary_head_on_labels(tmp_path) -> None:
    from gankit.train import session
    from tests.conftest import tiny_images

    cfg = tiny_images(**{"game.conditional": "true", "game.auxiliary": "1", "game.mode_seeking": "1"})
    session.train_new(cfg, tmp_path / "aux")
    rows = [json.loads(line) for line in (tmp_path / "aux" / "metrics.jsonl").read_text().splitlines()]
    assert {"aux_D", "aux_G", "ms_ratio"} <= set(rows[-1])
    assert all(np.isfinite(rows[-1][k]) for k in ("aux_D", "aux_G"))


def test_auxiliary_needs_classes_or_tags(tmp_path, monkeypatch) -> None:
    from gankit.train import session

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(UserError, match="auxiliary classifier predicts classes or tags"):
        from gankit import config as C, presets

        _, values = presets.resolve("shapes-text")
        cfg = C.build(values, C.parse_overrides(["game.auxiliary=1", "data.n_samples=300", "train.steps=1",
                                                 "train.progress=false"]))
        session.train_new(cfg, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_label_conditioned_shapes_run_is_scored_without_prompts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "label"
    assert main(["train", "shapes-text", "--steps", "2", "--out", str(out), *TINY, "--set", "game.condition=shape"]) == 0
    assert main(["evaluate", str(out), "--n", "60", "--metrics", "fid"]) == 0
    scores = json.loads((out / "scores.json").read_text())["evaluate"]
    assert "asked" not in scores and scores["fid"] >= 0  # its prompts are captions, which it cannot read
