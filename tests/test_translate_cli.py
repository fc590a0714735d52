"""`gankit translate` on the user's own images, and `gankit evaluate` of a translation run, end to end."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.train import session
from tests.conftest import tiny_translation


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tiny pix2pix and a tiny CycleGAN run on 32-px shapes (label map -> photo)."""
    import os

    base = tmp_path_factory.mktemp("translation-runs")
    old = os.environ.get("GANKIT_CACHE")
    os.environ["GANKIT_CACHE"] = str(base / "cache")
    try:
        return {g: session.train_new(tiny_translation(g), base / g).run_dir for g in ("pix2pix", "cyclegan")}
    finally:
        if old is None:
            del os.environ["GANKIT_CACHE"]
        else:
            os.environ["GANKIT_CACHE"] = old


@pytest.fixture(autouse=True)
def _cache(runs, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(runs["pix2pix"].parent / "cache"))


def _user_images(folder: Path) -> Path:
    """Three label maps drawn by a user: two at the run's 32 px, one larger (resized with a warning)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, side in (("a", 32), ("b", 32), ("big", 80)):
        img = np.zeros((side, side, 3), np.uint8)
        x0, y0 = rng.integers(0, side // 2, 2)
        img[y0 : y0 + side // 3, x0 : x0 + side // 3] = (255, 0, 0)  # a "circle" region in the palette's red
        Image.fromarray(img).save(folder / f"{name}.png")
    return folder


def test_translate_a_folder_into_a_folder_and_a_grid(runs, tmp_path: Path, capsys) -> None:
    src = _user_images(tmp_path / "mine")
    assert main(["translate", str(runs["pix2pix"]), str(src), "--out", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["a.png", "b.png", "big.png"]
    assert Image.open(tmp_path / "out" / "big.png").size == (32, 32)
    err = capsys.readouterr().err
    assert "resized 1 image(s)" in err and "big.png 80x80" in err
    assert main(["translate", str(runs["cyclegan"]), str(src / "a.png"), "--direction", "BtoA",
                 "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size[0] > 32  # input | output side by side


@pytest.mark.parametrize("case", ["not-an-image", "empty-folder", "no-such-file", "pix2pix-BtoA", "out-exists",
                                  "not-a-translation-run"])
def test_translate_bad_inputs_are_one_line_exit_2_and_write_nothing(case: str, runs, tmp_path: Path, capsys) -> None:
    run, out = runs["pix2pix"], tmp_path / "out"
    src = _user_images(tmp_path / "mine")
    args = ["translate", str(run), str(src), "--out", str(out)]
    if case == "not-an-image":
        (src / "notes.png").write_text("not a picture")
    elif case == "empty-folder":
        (tmp_path / "empty").mkdir()
        args[2] = str(tmp_path / "empty")
    elif case == "no-such-file":
        args[2] = str(tmp_path / "missing.png")
    elif case == "pix2pix-BtoA":
        args += ["--direction", "BtoA"]
    elif case == "out-exists":
        out.mkdir()
        (out / "keep.png").write_bytes(b"mine")
    elif case == "not-a-translation-run":
        from tests.conftest import tiny_toy

        args[1] = str(session.train_new(tiny_toy(), tmp_path / "toy").run_dir)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gankit: error:")
    if case == "out-exists":
        assert [p.name for p in out.iterdir()] == ["keep.png"]
    else:
        assert not out.exists()


def test_sample_on_a_translation_run_points_to_translate(runs, tmp_path: Path, capsys) -> None:
    assert main(["sample", str(runs["cyclegan"]), "--out", str(tmp_path / "s.png")]) == 2
    assert "use gankit translate" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.slow
def test_evaluate_scores_every_direction_against_the_ground_truth(runs, tmp_path: Path) -> None:
    run = runs["cyclegan"]
    assert main(["evaluate", str(run), "--n", "64"]) == 0
    scores = json.loads((run / "scores.json").read_text())["evaluate"]
    forward, back = scores["AtoB"], scores["BtoA"]
    assert forward["translator"] == "G" and back["translator"] == "F"
    assert 0 <= forward["fcn"]["per_pixel_accuracy"] <= 1 and "real_images" in forward["fcn"]  # labels -> photo
    assert 0 <= back["labels"]["per_pixel_accuracy"] <= 1  # photo -> labels, read in the palette
    assert forward["pixels"]["psnr"]["mean"] > 0 and 0 <= forward["cycle"]["l1"] <= 1
    page = (run / "report.html").read_text()
    assert "input | output | ground truth | cycle" in page


def test_the_way_back_of_a_recolour_is_scored_against_the_input_side_colour(tmp_path: Path) -> None:
    """The test split records the target side's colour (blue); F's outputs (blue -> red) must be judged
    against red, and the kept attributes against the scene's."""
    import types

    import torch

    from gankit import config as config_mod
    from gankit.data.shapes_text import COLOURS
    from gankit.evaluate.translation import _attribute_scores
    from gankit.train.loop import load_data

    cfg = config_mod.build({"data": {"name": "shapes-recolor", "split": "test", "n_samples": 64}})
    test = load_data(cfg)
    n = 8
    out = torch.zeros(n, 3, 32, 32)
    red = torch.full((n,), COLOURS.index("red"))
    kept = {a: test.fields[a][:n] for a in ("shape", "size", "position", "background")}
    judge = types.SimpleNamespace(kinds={a: "label" for a in ("colour", *kept)}, test_accuracy={},
                                  predict=lambda x: {"colour": red, **kept})
    back = _attribute_scores(cfg, judge, test, out, back=True)["attributes"]
    forward = _attribute_scores(cfg, judge, test, out, back=False)["attributes"]
    assert back["target_accuracy"] == 1.0 and back["content_preservation"] == 1.0
    assert forward["target_accuracy"] == 0.0  # red is not the blue the forward direction asks for
