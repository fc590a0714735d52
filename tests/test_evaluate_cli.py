"""`gankit evaluate` end to end on tiny runs, images from elsewhere, in-training evaluation, and the
bad-input table: one line, exit 2, nothing written."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import DataConfig
from gankit.metrics import features as feats
from gankit.registry import DATASETS
from gankit.train.restore import restore
from gankit.train.rundir import read_scores
from gankit.train.sampling import generate

DIGITS = ["--set", "data.name=digits", "--set", "data.resolution=8", "--set", "data.channels=1",
          "--set", "nets.G.width=8", "--set", "nets.D.width=8", "--set", "train.batch_size=16",
          "--set", "train.progress=false", "--set", "train.log_every=2", "--set", "train.threads=1"]
TOY = ["--set", "data.n_samples=2000", "--set", "nets.G.width=16", "--set", "nets.D.width=16",
       "--set", "train.batch_size=32", "--set", "train.progress=false", "--set", "eval.n_samples=300"]
REQUIRED = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "provenance")
PROVENANCE = ("metric", "feature_net", "weights_sha256", "n_fake", "n_real", "real", "seed", "gankit_version")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evaluate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(path / "cache"))  # never the user's cache
        yield path


@pytest.fixture(autouse=True)
def _cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(root / "cache"))
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)


@pytest.fixture(scope="module")
def digits_run(root: Path) -> Path:
    assert main(["train", "folder-dcgan", "--steps", "8", "--out", str(root / "digits"), *DIGITS]) == 0
    return root / "digits"


@pytest.fixture(scope="module")
def toy_run(root: Path) -> Path:
    assert main(["train", "ring8-gan", "--steps", "10", "--out", str(root / "toy"), *TOY, "--set", "train.log_every=5"]) == 0
    return root / "toy"


def test_run_scores_report_and_cache(digits_run: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(digits_run), "--n", "400"]) == 0
    out, err = capsys.readouterr()
    scores = read_scores(digits_run)["evaluate"]
    for key in REQUIRED:
        assert key in scores, key
    for key in ("fid", "kid", "precision", "classifier_score", "class_kl"):
        rec = scores["provenance"][key]
        assert all(f in rec for f in PROVENANCE), (key, rec)
        assert rec["n_fake"] == 400 and rec["real"] == "digits:test" and rec["n_real"] == 359
        assert len(rec["weights_sha256"]) == 64
    assert scores["provenance"]["kid"]["std"] is not None and len(scores["provenance"]["fid"]["ci95"]) == 2
    assert scores["samples"]["sampled_with"] == "EMA of G" and scores["floor"]["fid"] < scores["fid"]
    assert "domain classifier:" in err and re.search(r"^fid\s+\d", out, re.MULTILINE) and "compared: 400 fake" in out
    html = (digits_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # generated, real, curves
    assert not re.search(r"(src|href)=\"?https?:", html)  # self-contained
    assert "gankit-domain-classifier/digits" in html and "kid" in html
    # Same seed, same numbers, from the classifier shipped with gankit (the same on every machine).
    (net,) = scores["feature_nets"].values()
    assert net["weights_from"].startswith("shipped with gankit")
    feats._NET_MEMO.clear()
    assert main(["evaluate", str(digits_run), "--n", "400", "--metrics", "fid",
                 "--out", str(digits_run / "again.json")]) == 0
    assert "shipped with gankit" in capsys.readouterr().err
    assert json.loads((digits_run / "again.json").read_text())["fid"] == scores["fid"]


def test_conditional_run_reports_conditional_accuracy(root: Path) -> None:
    run = root / "cond"
    assert main(["train", "folder-dcgan", "--steps", "4", "--out", str(run), *DIGITS, "--set", "game.conditional=true"]) == 0
    assert main(["evaluate", str(run), "--n", "200", "--metrics", "conditional_accuracy,classifier_score"]) == 0
    scores = read_scores(run)["evaluate"]
    assert "fid" not in scores
    # The figure is what the domain classifier says of samples asked for each class, recomputed here
    # from the same z and labels (the evaluation's seed 0): a wrong label order or argmax would differ.
    restored = restore(run)
    inputs = restored.game.fixed_inputs(200, torch.Generator().manual_seed(0))
    fake = generate(restored.game, restored.players, inputs)["fake"]
    net = feats.domain_classifier(restored.cfg.data)
    expected = (net.logits(fake).argmax(1) == inputs["label"]).float().mean().item()
    assert scores["conditional_accuracy"] == pytest.approx(expected, abs=1e-5)
    assert sorted(set(inputs["label"].tolist())) == list(range(10))  # every class was asked for


def test_toy_run_gets_mixture_scores(toy_run: Path) -> None:
    assert main(["evaluate", str(toy_run)]) == 0
    sections = read_scores(toy_run)
    assert "train" in sections, "evaluate keeps the training's own section"
    scores = sections["evaluate"]
    for key in ("modes", "high_quality", "reverse_kl", "w2", "sliced_w2"):
        assert key in scores and key in scores["provenance"], key
    assert "fid" not in scores and scores["provenance"]["w2"]["n_fake"] == 300
    assert scores["provenance"]["w2"]["data_vs_data"] < scores["w2"] or scores["w2"] < 0.05
    assert "figcaption>convergence" in (toy_run / "report.html").read_text()  # D's verdicts and Sinkhorn curve


def _real_digits_folder(path: Path) -> Path:
    data = DATASETS.get("digits")(DataConfig(name="digits", split="train"))
    for i, (x, y) in enumerate(zip(data.x[:300], data.y[:300])):
        (path / str(int(y))).mkdir(parents=True, exist_ok=True)
        Image.fromarray(((x[0] + 1) * 127.5).round().byte().numpy()).save(path / str(int(y)) / f"{i}.png")
    return path


def test_fake_folder_and_npy_against_a_dataset(root: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _real_digits_folder(root / "real-digits")
    out = root / "folder.json"
    assert main(["evaluate", "--fake", str(folder), "--real", "digits:test", "--out", str(out)]) == 0
    scores = json.loads(out.read_text())
    # Real images scored as fakes: near the floor, classified as the folder they are in.
    assert scores["fid"] < 3 * scores["floor"]["fid"] + 1 and scores["conditional_accuracy"] > 0.8
    assert scores["precision"] > 0.5 and out.with_suffix(".html").exists()
    noise = root / "noise.npy"
    np.save(noise, np.random.default_rng(0).integers(0, 256, (300, 8, 8, 1), dtype=np.uint8))
    capsys.readouterr()
    assert main(["evaluate", "--fake", str(noise), "--real", "digits", "--metrics", "fid"]) == 0
    printed = capsys.readouterr().out
    fid_noise = float(re.search(r"^fid\s+([\d.e+-]+)", printed, re.MULTILINE).group(1))
    assert fid_noise > 5 * scores["fid"]


def test_in_training_evaluation_leaves_the_rng_alone(digits_run: Path, toy_run: Path) -> None:
    from gankit.evaluate.during_training import evaluate_during_training
    from gankit.train.loop import load_data

    for run, keys in ((digits_run, {"eval_fid", "eval_classifier_score"}),
                      (toy_run, {"eval_modes", "eval_high_quality", "eval_reverse_kl", "eval_sliced_w2"})):
        r = restore(run)
        data = load_data(r.cfg)
        state = torch.get_rng_state()
        first = evaluate_during_training(r.game, r.players, data, r.cfg, r.step)
        assert torch.equal(state, torch.get_rng_state())
        assert set(first) == keys and all(np.isfinite(v) for k, v in first.items() if k != "eval_reverse_kl")
        again = evaluate_during_training(r.game, r.players, data, r.cfg, r.step)
        assert json.dumps(again) == json.dumps(first)  # (NaN != NaN, but its JSON text is equal)


def _bad_cases(run: Path, toy: Path, tmp: Path) -> list[tuple[str, list[str], str]]:
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "notarun").mkdir(exist_ok=True)
    broken = tmp / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    np.save(tmp / "five.npy", np.zeros((4, 5, 8, 8), dtype=np.uint8))
    np.save(tmp / "unit.npy", np.full((4, 1, 8, 8), 0.5, dtype=np.float32))
    (tmp / "junk.npy").write_bytes(b"not numpy")
    (tmp / "exists.json").write_text("keep me")
    fake = ["--fake", str(tmp / "five.npy")]
    return [
        ("missing run dir", ["evaluate", str(tmp / "nowhere")], "not a gankit run directory"),
        ("not a run", ["evaluate", str(tmp / "notarun")], "not a gankit run directory"),
        ("unknown metric", ["evaluate", str(run), "--metrics", "fid,nope"], "unknown metric 'nope'"),
        ("image metric on 2D", ["evaluate", str(toy), "--metrics", "fid"], "scores images"),
        ("toy metric on images", ["evaluate", str(run), "--metrics", "modes"], "scores points"),
        ("unconditional", ["evaluate", str(run), "--metrics", "conditional_accuracy"], "class-conditional"),
        ("n zero", ["evaluate", str(run), "--n", "0"], "--n: 0 is out of range; expected an integer in [1, 200000]"),
        ("existing out", ["evaluate", str(run), "--out", str(tmp / "exists.json")], "exists"),
        ("out not json", ["evaluate", str(run), "--out", str(tmp / "x.txt")], ".json"),
        ("both", ["evaluate", str(run), *fake, "--real", "digits"], "not both"),
        ("fake alone", ["evaluate", *fake], "go together"),
        ("nothing", ["evaluate"], "needs a RUN_DIR"),
        ("empty folder", ["evaluate", "--fake", str(tmp / "empty"), "--real", "digits"], "no image files"),
        ("corrupt folder", ["evaluate", "--fake", str(broken), "--real", "digits"], "could be read"),
        ("missing fake", ["evaluate", "--fake", str(tmp / "none"), "--real", "digits"], "does not exist"),
        ("channels", ["evaluate", *fake, "--real", "digits"], "1 or 3 channels"),
        ("float range", ["evaluate", "--fake", str(tmp / "unit.npy"), "--real", "digits"], "[-1, 1]"),
        ("junk npy", ["evaluate", "--fake", str(tmp / "junk.npy"), "--real", "digits"], "is not a NumPy .npy array of numbers"),
        ("unknown dataset", ["evaluate", *fake, "--real", "nope"], "unknown dataset 'nope'"),
        ("bad split", ["evaluate", *fake, "--real", "digits:val"], "must be train or test"),
        ("split with fake", ["evaluate", *fake, "--real", "digits", "--split", "train"], "--split is for RUN_DIR"),
        ("features", ["evaluate", str(run), "--features", "vgg"], "must be domain or inception"),
        ("inception weights", ["evaluate", str(run), "--features", "inception"], "pt_inception-2015-12-05-6726825d.pth"),
        ("missing weights file", ["evaluate", str(run), "--features", "inception", "--inception-weights",
                                  str(tmp / "none.pth")], "do not exist"),
        ("empty metrics", ["evaluate", str(run), "--metrics", ","], "at least one name"),
    ]


def test_bad_input_table(digits_run: Path, toy_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # no weights found by accident
    monkeypatch.setattr(feats, "_NET_MEMO", {})  # a refusal after a classifier load would print a 2nd line
    before = sorted(p.name for p in digits_run.rglob("*"))
    for name, args, fragment in _bad_cases(digits_run, toy_run, tmp_path):
        code = main(args)
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2, (name, code)
        assert len(lines) == 1 and lines[0].startswith("gankit: error:"), (name, lines)
        assert fragment in lines[0], (name, lines[0])
    assert sorted(p.name for p in digits_run.rglob("*")) == before, "bad input changed the run"
    assert (tmp_path / "exists.json").read_text() == "keep me"


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Fashion-MNIST is not installed")
def test_the_same_samples_get_the_same_domain_fid_on_every_machine(tmp_path: Path) -> None:
    """The Fashion-MNIST classifier ships with gankit (hash-checked), so a fixed .npy of samples has one
    domain FID everywhere. The samples: 500 training images with an integer-only pattern added (the same
    bytes on any machine). Expected values measured with the shipped weights (sha256 5c6ff00c...);
    the tolerance allows only the last-bit differences of convolutions between CPUs."""
    from gankit.data.images import read_idx

    x = read_idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")[:500].astype(np.int32)
    pattern = (np.arange(28)[None, :, None] * 37 + np.arange(500)[:, None, None] * 11) % 64 - 32
    np.save(tmp_path / "fakes.npy", np.clip(x + pattern, 0, 255).astype(np.uint8))
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--fake", str(tmp_path / "fakes.npy"), "--real", "fashion-mnist:test", "--n", "500",
                 "--metrics", "fid,classifier_score", "--out", str(out)]) == 0
    scores = json.loads(out.read_text())
    (net,) = scores["feature_nets"].values()
    assert net["weights_sha256"].startswith("5c6ff00c") and net["weights_from"].startswith("shipped with gankit")
    assert scores["fid"] == pytest.approx(6.09635, rel=1e-4)
    assert scores["classifier_score"] == pytest.approx(7.12006, rel=1e-4)
