"""Tests for gankit.viz: grids, PNG determinism, plots and GIFs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.viz import (
    evenly_spaced,
    gif_from_pngs,
    make_grid,
    plot_curves,
    plot_points,
    save_gif,
    save_png,
    upscale,
)


# ---------------------------------------------------------------- make_grid
def test_grid_shape_gray_64() -> None:
    g = make_grid(torch.zeros(64, 1, 28, 28))
    assert g.dtype == np.uint8
    assert g.shape == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 tiles of 28 + 2 padding


def test_grid_shape_rgb_64() -> None:
    g = make_grid(torch.zeros(64, 3, 32, 32))
    assert g.shape == (8 * 34 + 2, 8 * 34 + 2, 3)


@pytest.mark.parametrize(
    ("n", "nrow", "rows", "cols"),
    [(10, None, 3, 4), (10, 5, 2, 5), (3, None, 2, 2), (1, None, 1, 1), (7, 20, 1, 7)],
)
def test_grid_non_square(n: int, nrow: int | None, rows: int, cols: int) -> None:
    g = make_grid(torch.zeros(n, 1, 8, 6), nrow=nrow, padding=1)
    assert g.shape == (rows * 9 + 1, cols * 7 + 1)


def test_grid_values_and_padding() -> None:
    imgs = torch.cat([torch.full((1, 1, 4, 4), -1.0), torch.full((1, 1, 4, 4), 1.0)])
    g = make_grid(imgs, nrow=2, padding=2, pad_value=1.0)
    assert g.shape == (8, 14)
    assert (g[2:6, 2:6] == 0).all()  # -1 -> 0
    assert (g[2:6, 8:12] == 255).all()  # 1 -> 255
    assert (g[:2] == 255).all() and (g[:, 6:8] == 255).all()  # padding white
    g0 = make_grid(imgs, nrow=2, padding=2, pad_value=-1.0)
    assert (g0[:2] == 0).all()
    # empty tile of a non-full last row gets pad colour too
    g3 = make_grid(torch.full((3, 1, 4, 4), -1.0), nrow=2, padding=2, pad_value=1.0)
    assert (g3[8:12, 8:12] == 255).all()


def test_grid_clamps_and_midpoint() -> None:
    g = make_grid(torch.tensor([[[[-5.0, 0.0, 7.0]]]]), padding=0)
    assert g.tolist() == [[0, 128, 255]]


def test_grid_rejects_bad_channels() -> None:
    with pytest.raises(ValueError):
        make_grid(torch.zeros(4, 2, 8, 8))
    with pytest.raises(ValueError):
        make_grid(torch.zeros(8, 8))


def test_upscale() -> None:
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    b = upscale(a, 3)
    assert b.shape == (6, 9)
    assert (b[:3, :3] == 0).all() and (b[3:, 6:] == 5).all()
    assert upscale(np.zeros((2, 2, 3), np.uint8), 2).shape == (4, 4, 3)


# ----------------------------------------------------------------- save_png
def test_save_png_deterministic_roundtrip(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    for c in (1, 3):
        arr = make_grid(torch.rand(16, c, 8, 8, generator=gen) * 2 - 1)
        p1, p2 = tmp_path / f"a{c}.png", tmp_path / "sub" / f"b{c}.png"
        assert save_png(arr, p1) == p1
        save_png(arr, p2)
        assert p1.read_bytes() == p2.read_bytes()
        with Image.open(p1) as im:
            assert np.array_equal(np.asarray(im), arr)
    assert not list(tmp_path.rglob("*.tmp"))  # atomic write left nothing behind


# -------------------------------------------------------------------- plots
def _ring(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ang = torch.randint(0, 8, (n,), generator=g).float() * (torch.pi / 4)
    c = torch.stack([ang.cos(), ang.sin()], 1) * 2
    return c + 0.05 * torch.randn(n, 2, generator=g)


def test_plot_points_with_critic(tmp_path: Path) -> None:
    real, fake = _ring(500, 0), 0.5 * torch.randn(300, 2, generator=torch.Generator().manual_seed(1))
    calls: list[tuple[int, ...]] = []

    def critic(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return torch.sigmoid(3 * (x.norm(dim=1) - 1.0))

    centres = torch.tensor([[2 * np.cos(k * np.pi / 4), 2 * np.sin(k * np.pi / 4)] for k in range(8)])
    p = plot_points(real, fake, tmp_path / "pts.png", critic=critic, title="step 0", means=centres)
    assert p == tmp_path / "pts.png"
    assert calls == [(200 * 200, 2)]
    with Image.open(p) as im:
        assert im.format == "PNG"
        assert 500 <= im.width <= 700 and 500 <= im.height <= 700
        a = np.asarray(im.convert("RGB")).astype(int)
    assert a.std() > 20  # not blank


def test_plot_points_fixed_size_without_critic(tmp_path: Path) -> None:
    real = _ring(200, 2)
    a = plot_points(real, real + 10, tmp_path / "a.png")  # fake far away: clipped, axes fixed
    b = plot_points(real, real, tmp_path / "b.png", lim=(-3, 3, -3, 3))
    with Image.open(a) as ia, Image.open(b) as ib:
        assert ia.size == ib.size


def test_plot_curves(tmp_path: Path) -> None:
    rows = [{"step": s, "loss_D": 1.0 / (s + 1), "loss_G": 0.5 + 0.01 * s} for s in range(0, 100, 10)]
    rows.append({"step": 100, "loss_D": 0.1})  # missing loss_G is skipped
    rows.append({"step": 110, "loss_D": float("inf"), "loss_G": True})  # non-finite / non-number
    p = plot_curves(rows, ["loss_D", "loss_G", "D(x)"], tmp_path / "curves.png", title="t")
    with Image.open(p) as im:
        assert im.width == 700 and im.height > 400
    with pytest.raises(ValueError):
        plot_curves(rows, [], tmp_path / "x.png")


# --------------------------------------------------------------------- GIFs
def _solid(v: int, h: int = 10, w: int = 12, rgb: bool = True) -> np.ndarray:
    a = np.full((h, w, 3) if rgb else (h, w), v, dtype=np.uint8)
    if rgb:
        a[..., 1] = 255 - v
    return a


def test_save_gif_frames(tmp_path: Path) -> None:
    frames = [_solid(20 * i) for i in range(5)]
    frames.append(_solid(7, h=5, w=30))  # different size -> letterboxed
    frames.append(_solid(99, rgb=False))  # grayscale frame
    p = save_gif(frames, tmp_path / "anim.gif", duration_ms=100)
    with Image.open(p) as im:
        assert im.format == "GIF"
        assert im.is_animated and im.n_frames == len(frames)
        assert im.size == (12, 10)
        im.seek(3)
        assert tuple(im.convert("RGB").getpixel((5, 5))) == (60, 195, 60)
    assert save_gif(frames, tmp_path / "again.gif", duration_ms=100).read_bytes() == p.read_bytes()


def test_evenly_spaced() -> None:
    assert evenly_spaced(5, 60) == [0, 1, 2, 3, 4]
    idx = evenly_spaced(1000, 60)
    assert len(idx) == 60 and idx[0] == 0 and idx[-1] == 999 and idx == sorted(set(idx))
    assert evenly_spaced(0) == []


def test_gif_from_pngs_subsamples(tmp_path: Path) -> None:
    paths = []
    for i in range(25):
        p = tmp_path / "samples" / f"step-{i * 100:06d}.png"
        save_png(_solid(i * 10, h=20, w=40), p)
        paths.append(p)
    out = gif_from_pngs(paths, tmp_path / "samples.gif", max_frames=6, caption=False)
    with Image.open(out) as im:
        assert im.n_frames == 6
        firsts = []
        for k in (0, im.n_frames - 1):
            im.seek(k)
            firsts.append(im.convert("RGB").getpixel((20, 10))[0])
    assert firsts == [0, 240]  # first and last PNG kept
    cap = gif_from_pngs(paths[:3], tmp_path / "cap.gif")
    with Image.open(cap) as im:
        assert im.n_frames == 3 and im.size == (40, 36)  # 16-px caption band


def test_critic_scores_are_rescaled_so_their_ordering_shows(tmp_path: Path) -> None:
    real = torch.randn(200, 2)
    tiny_slope = lambda x: 1e-3 * x[:, 0]  # noqa: E731  (a clipped WGAN critic: scores near 0)
    def colours(**kw) -> np.ndarray:
        img = np.asarray(Image.open(plot_points(real, real, tmp_path / "p.png", critic=tiny_slope, **kw)).convert("RGB"))
        return img[img.shape[0] // 2, : img.shape[1] * 3 // 4].astype(int)  # a row across the surface

    scaled, raw = colours(critic_scores=True), colours()
    assert np.ptp(scaled[:, 0] - scaled[:, 2]) > 100  # red on the left, blue on the right
    assert np.ptp(raw[:, 0] - raw[:, 2]) < np.ptp(scaled[:, 0] - scaled[:, 2])
