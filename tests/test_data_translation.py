"""Built-in translation data (issue 14): palette and edges, pairs that really correspond, unpaired
collections from disjoint scenes, direction swaps, the always-paired test split and its ground truth."""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import shapes, translation_shapes
from gankit.data.base import BatchSampler, FieldSpec, decode
from gankit.data.shapes_text import COLOURS, SHAPES
from gankit.data.translation import EDGE, NO_EDGE, PALETTE, edges, label_image, labels_from_image
from gankit.errors import UserError
from gankit.registry import DATASETS

N = 200
FASHION_DIR = Path(os.environ.get("GANKIT_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist")  # as the loader
RED, BLUE = COLOURS.index("red"), COLOURS.index("blue")
CIRCLE, SQUARE = SHAPES.index("circle"), SHAPES.index("square")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


def load(name: str, **kw):
    kw.setdefault("n_samples", N)
    return DATASETS.get(name)(DataConfig(name=name, **kw))


def near(mask: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """mask (N, H, W) bool grown by `steps` pixels (8-connected)."""
    m = mask[:, None].float()
    for _ in range(steps):
        m = torch.nn.functional.max_pool2d(m, 3, 1, 1)
    return m[:, 0] > 0


# ---------------------------------------------------------------- palette and edges

def test_palette_round_trip_and_colours() -> None:
    assert PALETTE.dtype == np.uint8 and PALETTE.shape == (len(translation_shapes.CLASSES), 3)
    assert PALETTE[0].tolist() == [0, 0, 0]  # background black
    d = np.linalg.norm(PALETTE[:, None].astype(float) - PALETTE[None].astype(float), axis=-1)
    assert d[~np.eye(len(PALETTE), dtype=bool)].min() >= 200  # far apart
    m = torch.from_numpy(np.random.default_rng(0).integers(0, len(PALETTE), (5, 9, 7), dtype=np.uint8))
    img = label_image(m)
    assert img.dtype == torch.uint8 and img.shape == (5, 3, 9, 7)
    assert torch.equal(labels_from_image(decode("image", img)), m.long())
    assert torch.equal(label_image(m.numpy()), img)  # numpy in, same answer
    noise = torch.randn(img.shape, generator=torch.Generator().manual_seed(1))
    noisy = (decode("image", img) + 0.3 * noise).clamp(-1, 1)
    assert (labels_from_image(noisy) == m.long()).float().mean() > 0.95  # nearest colour, not exact match
    with pytest.raises(ValueError, match="palette"):
        label_image(np.full((1, 2, 2), len(PALETTE)))


def test_edges_on_a_known_square() -> None:
    img = np.zeros((2, 3, 16, 16), np.uint8)
    img[0, :, 4:12, 4:12] = 200
    img[1, 0], img[1, 1] = 150, 60
    img[1, 1, 4:12, 4:12], img[1, 0, 4:12, 4:12] = 150, 60  # the square: red and green channels swapped
    out = edges(img, 24, 24)
    assert out.shape == (2, 1, 16, 16) and out.dtype == np.uint8 and set(np.unique(out)) <= {EDGE, NO_EDGE}
    ring = np.zeros((16, 16), bool)
    ring[3:13, 3:13] = True
    ring[5:11, 5:11] = False
    lines = out[0, 0] == EDGE
    assert lines.sum() >= 28 and not (lines & ~ring).any()  # the square's outline and nothing else
    assert (out[1, 0] == EDGE).sum() >= 28  # colour edges count, not only brightness
    assert not (edges(np.full((1, 1, 8, 8), 90, np.uint8), 1, 1) == EDGE).any()  # flat: none, borders included
    assert np.array_equal(edges(img, 10, 40, blur=True), edges(img, 10, 40, blur=True))


# ---------------------------------------------------------------- shapes-labels, shapes-edges

def test_shapes_labels_pairs_match_the_shapes_scenes() -> None:
    d = load("shapes-labels", split="test")  # test: paired with ground truth
    ref = load("shapes", split="test")
    assert d.specs["x"].kind == "image" and d.specs["x_b"].kind == "paired_image"
    assert d.specs["x"].classes == len(PALETTE) and d.specs["x"].names == translation_shapes.CLASSES
    assert d.specs["x_b"].classes == 0 and d.fields["x"].dtype == torch.uint8
    assert torch.equal(d.fields["x_b"], ref.fields["x"])
    assert torch.equal(labels_from_image(d.column("x")), ref.fields["label_map"].long())
    assert torch.equal(d.fields["label_map"], ref.fields["label_map"])
    assert d.specs["label_map"].kind == "label_map" and d.specs["label_map"].classes == 7
    for key in ("shape", "colour", "size", "position", "background"):
        assert torch.equal(d.fields[key], ref.fields[key]) and d.specs[key] == ref.specs[key]


def test_train_split_paired_unpaired_and_direction() -> None:
    paired = load("shapes-labels")
    assert set(paired.fields) == {"x", "x_b"} and len(paired) == N and not paired.domains
    un = load("shapes-labels", paired=False)
    assert set(un.fields) == {"x"} and set(un.domains) == {"b"} and set(un.domains["b"].fields) == {"x_b"}
    assert un.specs["x"].classes == 7 and un.domains["b"].specs["x_b"] == FieldSpec("image", (3, 32, 32))
    # disjoint scenes: A is the first half, B the second half of the same N scenes
    assert torch.equal(un.fields["x"], paired.fields["x"][: N // 2])
    assert torch.equal(un.domains["b"].fields["x_b"], paired.fields["x_b"][N // 2:])
    swapped = load("shapes-labels", direction="BtoA")
    assert torch.equal(swapped.fields["x"], paired.fields["x_b"])
    assert torch.equal(swapped.fields["x_b"], paired.fields["x"])
    assert swapped.specs["x"].classes == 0 and swapped.specs["x_b"].classes == 7
    batch = BatchSampler(un, 8, seed=0).sample()
    assert batch["x"].shape == (8, 3, 32, 32) and batch["x_b"].shape == (8, 3, 32, 32)
    assert len(load("shapes-labels", limit=17)) == 17
    big = load("shapes-labels", resolution=64, n_samples=20, objects=2, split="test", paired=False)
    assert big.fields["x"].shape == (20, 3, 64, 64) and "shape2" in big.fields and not big.domains
    with pytest.raises(UserError, match="resolution"):
        load("shapes-labels", resolution=16)


def test_shapes_edges() -> None:
    d = load("shapes-edges", split="test")
    x, maps = d.fields["x"], d.fields["label_map"]
    assert x.shape == (N, 1, 32, 32) and d.specs["x"].classes == 0 and set(x.unique().tolist()) <= {EDGE, NO_EDGE}
    lines = x[:, 0] == EDGE
    assert lines.flatten(1).any(1).all()  # every scene has an outline
    boundary = (maps != torch.roll(maps, 1, 1)) | (maps != torch.roll(maps, 1, 2))
    assert (lines & near(boundary, 2)).sum() >= 0.98 * lines.sum()  # edges lie on the objects' outlines
    again = load("shapes-edges", split="test")
    assert torch.equal(again.fields["x"], x)  # from the cache, identical
    b2a = load("shapes-edges", direction="BtoA", paired=False)
    assert b2a.fields["x"].shape[1] == 3 and b2a.domains["b"].fields["x_b"].shape[1] == 1


# ---------------------------------------------------------------- recolour and reshape

def test_recolor_pairs_differ_only_on_the_object() -> None:
    arrays = translation_shapes.generate_changed("shapes-recolor", "test", 60, 32, 1)
    assert np.array_equal(arrays["map_a"], arrays["map_b"])
    again = translation_shapes.generate_changed("shapes-recolor", "test", 60, 32, 1)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)  # deterministic
    d = load("shapes-recolor", split="test", n_samples=60)
    a, b, maps = d.fields["x"].int(), d.fields["x_b"].int(), d.fields["label_map"]
    assert torch.equal(a, torch.from_numpy(arrays["x_a"]).int())
    assert torch.equal(b, torch.from_numpy(arrays["x_b"]).int())
    differs = (a != b).any(1)
    obj = maps > 0
    assert not (differs & ~near(obj, 2)).any()  # outside the object (and its anti-aliased rim, star tips): identical
    assert differs[obj].float().mean() > 0.99
    assert (a[:, 0][obj] > a[:, 2][obj]).all() and (b[:, 2][obj] > b[:, 0][obj]).all()  # red -> blue
    assert (d.fields["colour"] == BLUE).all() and d.specs["colour"].names == COLOURS
    back = load("shapes-recolor", split="test", n_samples=60, direction="BtoA")
    assert (back.fields["colour"] == RED).all() and torch.equal(back.fields["x"], d.fields["x_b"])
    assert torch.equal(back.fields["shape"], d.fields["shape"]) and torch.equal(back.fields["label_map"], maps)


def test_reshape_keeps_colour_and_place() -> None:
    d = load("shapes-reshape", split="test", n_samples=60, objects=2)
    assert (d.fields["shape"] == SQUARE).all() and (d.fields["shape2"] == SQUARE).all()
    arrays = translation_shapes.generate_changed("shapes-reshape", "test", 60, 32, 2)
    assert set(np.unique(arrays["map_a"])) == {0, 1 + CIRCLE} and set(np.unique(arrays["map_b"])) == {0, 1 + SQUARE}
    assert torch.equal(d.fields["label_map"], torch.from_numpy(arrays["map_b"]))  # the target's map
    assert (d.fields["colour"] == torch.from_numpy(arrays["attributes"][:, 0, 1])).all()
    assert (d.fields["colour2"] == torch.from_numpy(arrays["attributes"][:, 1, 1])).all()
    one = translation_shapes.generate_changed("shapes-reshape", "test", 60, 32, 1)
    a, b = torch.from_numpy(one["x_a"]).float(), torch.from_numpy(one["x_b"]).float()
    ma, mb = torch.from_numpy(one["map_a"]) > 0, torch.from_numpy(one["map_b"]) > 0
    for i in range(60):  # the same fill colour (the median skips the anti-aliased rim)
        ca, cb = a[i][:, ma[i]].median(1).values, b[i][:, mb[i]].median(1).values
        assert (ca - cb).abs().max() <= 1
    far = ~near(ma | mb, 2)
    assert torch.equal(a.permute(1, 0, 2, 3)[:, far], b.permute(1, 0, 2, 3)[:, far])  # background untouched


def test_recolor_unpaired_comes_from_disjoint_scenes() -> None:
    arrays = translation_shapes.generate_changed("shapes-recolor", "train", N, 32, 1)
    un = load("shapes-recolor", paired=False)
    half = N // 2
    assert torch.equal(un.fields["x"], torch.from_numpy(arrays["x_a"][:half]))
    assert torch.equal(un.domains["b"].fields["x_b"], torch.from_numpy(arrays["x_b"][half:]))
    assert "label_map" not in un.spec  # no ground truth in training
    test = load("shapes-recolor", split="test", paired=False, n_samples=50)
    assert test.specs["x_b"].kind == "paired_image" and "label_map" in test.fields  # the test split is paired


# ---------------------------------------------------------------- Fashion-MNIST sets (tiny IDX files)

def _idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)  # uint8 IDX
    path.write_bytes(gzip.compress(header + arr.tobytes()))


def fake_fashion(d: Path, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Garment-like blobs (a bright rectangle on black) with classes 0..9 in turn."""
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        t, l = rng.integers(2, 10, 2)
        x[i, t : t + 14, l : l + 12] = rng.integers(120, 255)
    y = (np.arange(n) % 10).astype(np.uint8)
    for prefix in ("train", "t10k"):
        _idx(d / f"{prefix}-images-idx3-ubyte.gz", x)
        _idx(d / f"{prefix}-labels-idx1-ubyte.gz", y)
    return x, y


def test_fashion_edges(tmp_path: Path) -> None:
    x, y = fake_fashion(tmp_path)
    d = load("fashion-edges", path=str(tmp_path))
    assert d.fields["x"].shape == (40, 1, 32, 32) and d.fields["x_b"].shape == (40, 1, 32, 32)
    assert torch.equal(d.fields["x_b"][:, 0, 2:30, 2:30], torch.from_numpy(x))  # padded by 2, not resampled
    assert (d.fields["x_b"][:, :, :2] == 0).all() and (d.fields["x_b"][:, :, :, 30:] == 0).all()
    assert (d.fields["x"] == EDGE).flatten(1).any(1).all() and d.fields["y"].tolist() == y.tolist()
    assert d.specs["y"].classes == 10 and d.specs["x_b"].kind == "paired_image"
    un = load("fashion-edges", path=str(tmp_path), paired=False, direction="BtoA")
    assert torch.equal(un.fields["x"], d.fields["x_b"][:20])
    assert torch.equal(un.domains["b"].fields["x_b"], d.fields["x"][20:])
    assert un.fields["y"].tolist() == y[:20].tolist() and un.domains["b"].fields["y_b"].tolist() == y[20:].tolist()
    test = load("fashion-edges", path=str(tmp_path), split="test", paired=False, resolution=64, channels=3)
    assert test.fields["x"].shape == (40, 1, 64, 64) and test.fields["x_b"].shape == (40, 3, 64, 64)


def test_sneaker2boot(tmp_path: Path) -> None:
    x, y = fake_fashion(tmp_path)
    with pytest.raises(UserError, match="data.paired=false") as err:
        load("fashion-sneaker2boot", path=str(tmp_path))
    assert "\n" not in str(err.value)
    for split in ("train", "test"):
        d = load("fashion-sneaker2boot", path=str(tmp_path), paired=False, split=split)
        assert (d.fields["y"] == 7).all() and (d.domains["b"].fields["y_b"] == 9).all()
        assert torch.equal(d.fields["x"][:, 0, 2:30, 2:30], torch.from_numpy(x[y == 7]))
        assert d.domains["b"].specs["x_b"].kind == "image"  # no ground truth: unpaired even when testing
    d = load("fashion-sneaker2boot", path=str(tmp_path), paired=False, direction="BtoA")
    assert (d.fields["y"] == 9).all() and (d.domains["b"].fields["y_b"] == 7).all()
    with pytest.raises(UserError, match="fashion-mnist"):
        load("fashion-sneaker2boot", path=str(tmp_path / "nowhere"), paired=False)


@pytest.mark.skipif(not FASHION_DIR.is_dir(),
                    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_edges_on_the_real_garments() -> None:
    d = load("fashion-edges", split="test", limit=500)
    lines = d.fields["x"][:, 0] == EDGE
    assert len(d) == 500 and 0.03 < lines.float().mean() < 0.3 and lines.flatten(1).any(1).all()
