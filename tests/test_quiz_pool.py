"""`gankit quiz-prepare` (gankit.quiz.pool) on tiny trained runs, and `gankit quiz-report` over a whole
session: nothing but the picture may tell real from fake."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit import config as config_mod
from gankit.cli import main
from gankit.errors import UserError
from gankit.quiz import protocol as P
from gankit.quiz.pool import prepare, prepare_cli
from gankit.quiz.report import quiz_report, report_cli, run_summary
from tests.conftest import tiny_images, tiny_toy, train_runs, tiny_translation

SHORT = {"train.steps": "2", "train.log_every": "2", "train.sample_every": "2", "train.ckpt_every": "2"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny runs trained with `gankit train`: a gan on ring8 and on 8x8 digits, and a conditional gan."""
    base = tmp_path_factory.mktemp("quiz-runs")
    configs = {"toy": tiny_toy(**{"eval.n_samples": "50", **SHORT}), "images": tiny_images(**SHORT),
               "cgan": tiny_images(**{"game.conditional": "true", **SHORT})}
    return train_runs(base, configs)


@pytest.fixture(autouse=True)
def _cache(runs, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(runs["images"].parent / "cache"))


def pictures(run: Path) -> dict[str, Path]:
    return {p.stem: p for p in (run / "quiz" / "pool").iterdir()}


def assert_nothing_but_the_picture_differs(run: Path, pool: dict, size: tuple[int, int], mode: str) -> None:
    files = pictures(run)
    assert sorted(files) == sorted(it["id"] for it in pool["items"])  # one PNG per item, nothing else
    assert [it["id"] for it in pool["items"]] == sorted(files)  # listed in name order, not reals first
    assert all(P.ITEM_ID.fullmatch(i) for i in files)
    assert len({p.stat().st_mtime_ns for p in files.values()}) == 1
    for path in files.values():
        with Image.open(path) as im:
            assert (im.size, im.mode) == (size, mode) and not im.info  # no text chunks, no timestamps


def test_a_toy_pool_is_scatter_plots_in_one_frame(runs: dict[str, Path], capsys) -> None:
    assert prepare_cli(str(runs["toy"]), 25, 0, False) == 0
    out = capsys.readouterr().out
    assert "50 scatter plots of 64 points" in out and "25 real from ring8:test" in out and "note:" not in out
    pool = P.load_pool(runs["toy"])
    assert (pool["kind"], pool["n"], pool["seed"], pool["real_source"], pool["step"]) == ("points", 25, 0, "ring8:test", 2)
    assert pool["sampled_with"] == "EMA of G" and pool["points_per_picture"] == 64
    assert sorted(it["truth"] for it in pool["items"]) == ["fake"] * 25 + ["real"] * 25
    assert_nothing_but_the_picture_differs(runs["toy"], pool, (160, 160), "RGB")
    # the frame is drawn the same on every plot: the border pixels of a real and a fake plot agree
    truth = {it["id"]: it["truth"] for it in pool["items"]}
    arrays = {t: np.asarray(Image.open(pictures(runs["toy"])[next(i for i in truth if truth[i] == t)]))
              for t in ("real", "fake")}
    assert (arrays["real"][0] == arrays["fake"][0]).all() and (arrays["real"][:, 0] == arrays["fake"][:, 0]).all()
    assert P.plan(pool, "Ann", "timed", 1)  # 25 of each: a full session fits


def test_an_image_pool_is_enlarged_test_images_and_samples(runs: dict[str, Path]) -> None:
    path = prepare(runs["images"], n=30, seed=3)
    pool = json.loads(path.read_text())
    assert (pool["kind"], pool["real_source"], pool["real_note"], pool["image_size"]) == ("images", "digits:test", None,
                                                                                          [160, 160])
    assert_nothing_but_the_picture_differs(runs["images"], pool, (160, 160), "L")  # 8 px x 20, nearest neighbour
    im = np.asarray(Image.open(next(iter(pictures(runs["images"]).values()))))
    assert (im[:20, :20] == im[0, 0]).all()  # one source pixel -> a 20 x 20 block
    # the content is seeded (names are not): the same seed draws the same pictures
    first = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in pictures(runs["images"]).values())
    prepare(runs["images"], n=30, seed=3, force=True)
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in pictures(runs["images"]).values()) == first


def test_a_conditional_run_draws_its_classes_in_turn(runs: dict[str, Path]) -> None:
    pool = json.loads(prepare(runs["cgan"], n=25).read_text())
    assert pool["kind"] == "images" and len(pool["items"]) == 50 and pool["game"] == "gan"


def test_an_existing_pool_is_refused_and_replaced_only_with_force(runs: dict[str, Path], tmp_path: Path) -> None:
    run = runs["images"]
    if not (run / "quiz" / "pool.json").exists():
        prepare(run, n=25)
    before = P.load_pool(run)
    record_one = P.plan(before, "Ann", "timed", 1)[0]
    P.record_answer(run, "Ann", "timed", 1, record_one.index, "real", 300)
    with pytest.raises(UserError, match="has a quiz pool already; pass --force"):
        prepare(run, n=25)
    assert P.load_pool(run) == before and (run / "quiz" / "answers.jsonl").exists()
    after = json.loads(prepare(run, n=25, force=True).read_text())
    assert after["id"] != before["id"] and after["previous"]["id"] == before["id"]
    archived = run / after["previous"]["answers_archived_to"]
    assert archived.parent == run / "quiz" / "archive" and len(archived.read_text().splitlines()) == 1
    assert not (run / "quiz" / "answers.jsonl").exists() and len(pictures(run)) == 50
    assert not [p for p in (run / "quiz").iterdir() if p.name.startswith(".pool")]  # no staging left


@pytest.mark.parametrize("n,seed,message", [(24, 0, "--n must be"), (5001, 0, "--n must be"), (25, -1, "--seed"),
                                            (25.0, 0, "--n must be")])
def test_bad_numbers_are_refused(runs: dict[str, Path], n, seed, message: str) -> None:
    with pytest.raises(UserError, match=message):
        prepare(runs["toy"], n=n, seed=seed, force=True)


def test_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a gankit run directory"):
        prepare(tmp_path)
    with pytest.raises(UserError, match="not a gankit run directory"):
        quiz_report([tmp_path], as_json=False)


def test_a_translation_run_is_refused(tmp_path: Path) -> None:
    config_mod.write(tiny_translation("pix2pix"), tmp_path / "p2p.toml")
    assert main(["train", str(tmp_path / "p2p.toml"), "--out", str(tmp_path / "p2p")]) == 0
    with pytest.raises(UserError, match="is a pix2pix run: it translates pictures"):
        prepare(tmp_path / "p2p", n=25)
    assert not (tmp_path / "p2p" / "quiz" / "pool.json").exists()


def test_a_whole_session_through_the_report(runs: dict[str, Path], capsys) -> None:
    run = runs["toy"]
    if not (run / "quiz" / "pool.json").exists():
        prepare(run, n=25)
    pool = P.load_pool(run)
    assert run_summary(run)["status"] == "no answers"
    for name, protocol in (("Ann", "hype-inf"), ("Bob", "hype-inf"), ("Cy", "timed")):
        for t in P.plan(pool, name, protocol, 9):  # everyone answers "real" every time: chance
            P.record_answer(run, name, protocol, 9, t.index, "real", 800)
    table = quiz_report([run, runs["cgan"]], as_json=False)
    row = next(line for line in table.splitlines() if line.startswith(str(run)) and "hype-inf" in line)
    assert "50.0% [50.0, 50.0]" in row and "100.0% [100.0, 100.0]" in row and " 80 " in row
    assert any(line.startswith(str(runs["cgan"])) for line in table.splitlines())
    report = json.loads(quiz_report([run], as_json=True))
    scores = report["runs"][0]["scores"]
    assert report["schema"] == "gankit-quiz-report/1" and scores["participants"] == 3
    assert scores["by_protocol"]["timed"]["trials"] == 40 and "items" not in report["runs"][0]["pool"]
    assert report_cli([str(run)], as_json=False) == 0 and "HYPE∞" in capsys.readouterr().out


def test_a_run_without_a_pool_is_a_row_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "config.toml").touch()
    table = quiz_report([tmp_path], as_json=False)
    assert "no pool" in table and "gankit quiz-prepare" in table
