"""`gankit encode | reconstruct | interpolate` on a tiny ALI run's encoder, end to end through the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.train.restore import restore
from tests.conftest import tiny_images, tiny_toy, train_runs

SHORT = {"train.steps": "4", "train.log_every": "2", "train.sample_every": "4", "train.ckpt_every": "4"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny runs trained with `gankit train`: ali on 8x8 digits and on ring8, and a gan (no encoder)."""
    base = tmp_path_factory.mktemp("inversion-runs")
    configs = {"images": tiny_images(**{"game.name": "ali", "nets.D.norm": "none", **SHORT}),
               "toy": tiny_toy(**{"game.name": "ali", "eval.n_samples": "50", **SHORT}),
               "gan": tiny_toy(**{"eval.n_samples": "50", **SHORT, "train.steps": "2", "train.ckpt_every": "2"})}
    return train_runs(base, configs)


@pytest.fixture(autouse=True)
def _cache(runs, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(runs["images"].parent / "cache"))


def _user_images(folder: Path) -> Path:
    """Two gray 8x8 digits-sized images and a larger colour one (converted and resized with a warning)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{name}.png")
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / "big.png")
    return folder


def _tiles(path: Path, n: int, side: int = 8, pad: int = 2) -> list[np.ndarray]:
    """The n tiles of a one-row strip written by make_grid + upscale, at their original size."""
    img = np.asarray(Image.open(path))
    f = img.shape[0] // (side + 2 * pad)
    assert img.shape[:2] == (f * (side + 2 * pad), f * (n * (side + pad) + pad))  # exactly n tiles in one row
    small = img[::f, ::f]
    return [small[pad : pad + side, pad + i * (side + pad) : pad + i * (side + pad) + side] for i in range(n)]


def test_encode_a_folder_and_a_npy(runs, tmp_path: Path, capsys) -> None:
    src = _user_images(tmp_path / "mine")
    assert main(["encode", str(runs["images"]), str(src), "--out", str(tmp_path / "z.npy")]) == 0
    out = capsys.readouterr()
    z = np.load(tmp_path / "z.npy")
    assert z.dtype == np.float32 and z.shape == (3, 8) and np.isfinite(z).all()
    assert "(3, 8)" in out.out and "resized 1 image(s)" in out.err
    pixels = np.stack([np.asarray(Image.open(src / f"{n}.png")) for n in ("a", "b")])  # (N, H, W) uint8
    np.save(tmp_path / "ab.npy", pixels)
    assert main(["encode", str(runs["images"]), str(tmp_path / "ab.npy"), "--out", str(tmp_path / "z2.npy")]) == 0
    assert np.allclose(np.load(tmp_path / "z2.npy"), z[:2], atol=1e-6)  # folder order: a, b, big
    np.save(tmp_path / "ab-float.npy", (pixels[:, None] / 127.5 - 1).astype(np.float32))
    assert main(["encode", str(runs["images"]), str(tmp_path / "ab-float.npy"), "--out",
                 str(tmp_path / "z3.npy")]) == 0
    assert np.allclose(np.load(tmp_path / "z3.npy"), z[:2], atol=1e-5)


def test_encode_points_gives_the_encoder_mean(runs, tmp_path: Path) -> None:
    points = np.random.default_rng(1).normal(size=(10, 2)).astype(np.float32)
    np.save(tmp_path / "p.npy", points)
    assert main(["encode", str(runs["toy"]), str(tmp_path / "p.npy"), "--out", str(tmp_path / "z.npy")]) == 0
    run = restore(runs["toy"])
    with torch.no_grad():
        expected = run.game.encode(run.players["E"], torch.from_numpy(points)).numpy()
    assert np.allclose(np.load(tmp_path / "z.npy"), expected, atol=1e-6)


def test_reconstruct_writes_pairs_and_their_error(runs, tmp_path: Path, capsys) -> None:
    src = _user_images(tmp_path / "mine")
    assert main(["reconstruct", str(runs["images"]), str(src), "--out", str(tmp_path / "r.png")]) == 0
    w, h = Image.open(tmp_path / "r.png").size
    f = h // (2 * (8 + 2) + 2)  # 3 pairs: 2 per row, 2 rows; each tile 8 x 16 (input | reconstruction)
    assert (w, h) == (f * (2 * (16 + 2) + 2), f * 22) and f >= 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("mean squared error per pixel on [0, 1] pixels: ")
    assert 0 <= float(line.rsplit(" ", 1)[1]) <= 1
    np.save(tmp_path / "p.npy", np.random.default_rng(1).normal(size=(10, 2)).astype(np.float32))
    assert main(["reconstruct", str(runs["toy"]), str(tmp_path / "p.npy"), "--out", str(tmp_path / "t.png")]) == 0
    assert Image.open(tmp_path / "t.png").size == (600, 600)


def test_interpolate_strip_runs_from_a_to_b(runs, tmp_path: Path) -> None:
    src = _user_images(tmp_path / "mine")
    a, b = src / "a.png", src / "b.png"
    assert main(["interpolate", str(runs["images"]), "--from", str(a), "--to", str(b), "--steps", "5",
                 "--out", str(tmp_path / "s.png")]) == 0
    tiles = _tiles(tmp_path / "s.png", 5 + 2)
    assert np.array_equal(tiles[0], np.asarray(Image.open(a))) and np.array_equal(tiles[-1], np.asarray(Image.open(b)))
    run = restore(runs["images"])
    x = torch.from_numpy(np.stack([np.asarray(Image.open(p)) for p in (a, b)])[:, None]).float() / 127.5 - 1
    with torch.no_grad():
        ends = ((run.game.reconstruct(run.players, x).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    assert np.array_equal(tiles[1], ends[0, 0].numpy()) and np.array_equal(tiles[-2], ends[1, 0].numpy())  # z_A, z_B
    assert main(["interpolate", str(runs["images"]), "--steps", "3", "--seed", "4",
                 "--out", str(tmp_path / "random.png")]) == 0
    assert len(_tiles(tmp_path / "random.png", 3)) == 3  # two random z: no input tiles
    assert main(["interpolate", str(runs["images"]), "--from", str(a), "--out", str(tmp_path / "half.png")]) == 0
    assert len(_tiles(tmp_path / "half.png", 8 + 1)) == 9  # default 8 steps, A at the start only
    assert main(["interpolate", str(runs["toy"]), "--out", str(tmp_path / "toy.png")]) == 0


CASES = {  # case: (command, run, input, extra arguments, words in the error)
    "wrong-shape-npy": ("encode", "images", "c5.npy", [], "C = 1 or 3"),
    "points-for-images": ("reconstruct", "images", "p.npy", [], "this run takes images"),
    "wrong-shape-points": ("encode", "toy", "p3.npy", [], "takes (N, 2) points"),
    "images-for-toy": ("encode", "toy", "mine", [], "give a .npy of (N, 2) points"),
    "floats-out-of-range": ("encode", "images", "bright.npy", [], "give floats in [-1, 1]"),
    "no-encoder": ("encode", "gan", "p.npy", [], "is a gan run: it has no encoder; train an ali run (game.name=ali)"),
    "empty-folder": ("reconstruct", "images", "empty", [], "holds no image files"),
    "not-an-image": ("encode", "images", "notes.png", [], "is not an image"),
    "missing-run": ("encode", "nowhere", "mine", [], "is not a gankit run directory"),
    "out-exists": ("reconstruct", "images", "mine", [], "exists; choose another --out"),
    "out-not-npy": ("encode", "images", "mine", ["--out", "z.png"], "--out must be a .npy"),
    "steps-below-2": ("interpolate", "images", None, ["--steps", "1"], "--steps: 1 is out of range"),
    "from-a-folder": ("interpolate", "images", None, ["--from", "mine"], "takes one image file"),
    "from-many": ("interpolate", "images", None, ["--to", "c1.npy"], "holds 3 examples; give one"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_inputs_are_one_line_exit_2_and_write_nothing(case: str, runs, tmp_path: Path, capsys) -> None:
    command, run, source, extra, words = CASES[case]
    _user_images(tmp_path / "mine")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.png").write_text("not a picture")
    np.save(tmp_path / "c5.npy", np.zeros((3, 5, 8, 8), np.float32))
    np.save(tmp_path / "c1.npy", np.zeros((3, 1, 8, 8), np.float32))
    np.save(tmp_path / "bright.npy", np.full((3, 8, 8), 2.0, np.float32))
    np.save(tmp_path / "p.npy", np.zeros((4, 2), np.float32))
    np.save(tmp_path / "p3.npy", np.zeros((4, 3), np.float32))
    out = tmp_path / ("z.npy" if command == "encode" else "out.png")
    if case == "out-exists":
        out.write_bytes(b"mine")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    args = [command, str(runs.get(run, tmp_path / run))] + ([str(tmp_path / source)] if source else [])
    extra = [str(tmp_path / e) if e.endswith((".npy", ".png")) or e == "mine" else e for e in extra]
    args += extra if "--out" in extra else ["--out", str(out), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gankit: error:") and words in err, err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written
