"""The FCN-score segmenter (metrics/segmenter.py): trained with a tiny recipe on a small `shapes`
set in a temporary cache; cached, reloaded without training, reproducible, keyed by its recipe."""
from __future__ import annotations

import pytest
import torch

from gankit.config import DataConfig
from gankit.errors import UserError
from gankit.metrics import segmenter as seg_mod
from gankit.metrics.features import load_split
from gankit.metrics.segmenter import SegNet, SegmenterRecipe, fcn_score, segmenter_for

N = 200
TINY = SegmenterRecipe(width=4, epochs=1, batch_size=32, train_limit=96)
DATA = DataConfig(name="shapes", resolution=16, n_samples=N)
SCORES = ("per_pixel_accuracy", "per_class_accuracy", "class_iou")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    seg_mod._MEMO.clear()
    yield
    seg_mod._MEMO.clear()


def build(recipe: SegmenterRecipe = TINY, data: DataConfig = DATA) -> tuple[seg_mod.Segmenter, list[str]]:
    lines: list[str] = []
    return segmenter_for(data, recipe, log=lines.append), lines


@pytest.mark.parametrize("side", [16, 32, 64])
def test_segnet_gives_logits_per_pixel_at_every_resolution(side: int) -> None:
    net = SegNet((3, side, side), 7, SegmenterRecipe(width=4))
    assert net(torch.zeros(2, 3, side, side)).shape == (2, 7, side, side)
    with pytest.raises(UserError, match="multiple of"):
        SegNet((3, 30, 30), 7, SegmenterRecipe(width=4))


def test_trains_caches_and_reports_its_real_scores(tmp_path) -> None:
    rng_before = torch.random.get_rng_state()
    seg, lines = build()
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # training does not move the global RNG
    assert any("training on shapes:train (96 images at 16 px" in s for s in lines)
    files = list((tmp_path / "cache" / "classifiers").glob(f"shapes-16px-1obj-n{N}-segmenter-*.safetensors"))
    assert [str(f) for f in files] == [seg.info["file"]]
    assert seg.names[0] == "background" and seg.classes == 7 and seg.input_shape == (3, 16, 16)
    for k in SCORES:
        assert 0 <= seg.real_scores[k] <= 1
    assert set(seg.real_scores["iou_by_class"]) == set(seg.names)
    assert seg.info["recipe"]["train_limit"] == 96 and len(seg.info["sha256"]) == 64

    test = load_split(DATA, "test")
    pred = seg.predict(test.x)
    assert pred.shape == (len(test), 16, 16) and pred.dtype == torch.int64
    # The FCN-score of real test images is the ceiling itself, and is reported beside every score.
    score = fcn_score(seg, test.x, test.column("label_map"))
    assert {k: score[k] for k in SCORES} == {k: seg.real_scores[k] for k in SCORES}
    assert score["real_images"] == seg.real_scores and score["segmenter"]["file"] == seg.info["file"]


def test_second_call_loads_without_training_and_predicts_the_same() -> None:
    first, _ = build()
    x = load_split(DATA, "test").x[:20]
    before = first.predict(x)
    seg_mod._MEMO.clear()  # a new process
    again, lines = build()
    assert again is not first
    assert any("loaded from cache" in s for s in lines) and not any("training" in s for s in lines)
    assert torch.equal(again.predict(x), before)
    assert again.real_scores == first.real_scores and again.info["sha256"] == first.info["sha256"]


def test_training_is_reproducible(tmp_path, monkeypatch) -> None:
    first, _ = build()
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "other"))
    seg_mod._MEMO.clear()
    second, lines = build()
    assert any("training" in s for s in lines)
    assert second.info["sha256"] == first.info["sha256"]


def test_a_changed_recipe_is_another_file() -> None:
    a, _ = build()
    b, lines = build(SegmenterRecipe(width=4, epochs=1, batch_size=32, train_limit=96, seed=1))
    assert any("training" in s for s in lines)
    assert a.info["file"] != b.info["file"] and a.info["sha256"] != b.info["sha256"]


def test_unreadable_cache_is_retrained() -> None:
    seg, _ = build()
    with open(seg.info["file"], "wb") as fh:
        fh.write(b"not a safetensors file")
    seg_mod._MEMO.clear()
    again, lines = build()
    assert any("unreadable" in s for s in lines) and again.info["sha256"] == seg.info["sha256"]


def test_only_resolution_objects_and_size_of_the_config_matter() -> None:
    a, _ = build()
    # A translation run's data config (another name, direction ...) gets the same shapes segmenter.
    b, lines = build(data=DataConfig(name="fashion-mnist", resolution=16, n_samples=N, direction="BtoA", limit=7))
    assert b is a and lines == []


def test_wrong_inputs_are_one_line() -> None:
    seg, _ = build()
    with pytest.raises(UserError, match=r"takes images of shape \(3, 16, 16\)"):
        seg.predict(torch.zeros(1, 3, 32, 32))
    with pytest.raises(UserError, match="no train and test images|has split"):
        segmenter_for(DataConfig(name="ring8", n_samples=N), TINY, log=lambda s: None, dataset="ring8")
