"""`folder-pairs`: the user's paired and unpaired translation folders, in every layout, and each bad
input refused with one line that names the files."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.errors import UserError
from gankit.registry import DATASETS


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


def pixels(seed: int, w: int = 16, h: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(path: Path, arr: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def load(root: Path, **kw):
    return DATASETS.get("folder-pairs")(DataConfig(name="folder-pairs", path=str(root), **kw))


def refused(root: Path, *needles: str, **kw) -> str:
    with pytest.raises(UserError) as err:
        load(root, **kw)
    text = str(err.value)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


def chw(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(arr).permute(2, 0, 1)


# ---------------------------------------------------------------- layouts that load

def test_paired_folders_match_by_name(tmp_path: Path) -> None:
    a = {s: save(tmp_path / "A" / f"{s}.png", pixels(i)) for i, s in enumerate(("c", "a", "b"))}
    names = ("a.bmp", "b.png", "c.png")  # matched by stem, whatever the extension
    b = {n[0]: save(tmp_path / "B" / n, pixels(10 + i)) for i, n in enumerate(names)}
    d = load(tmp_path)
    assert set(d.fields) == {"x", "x_b"} and d.specs["x_b"].kind == "paired_image" and d.specs["x"].kind == "image"
    assert d.fields["x"].shape == (3, 3, 16, 16) and d.fields["x"].dtype == torch.uint8
    for i, s in enumerate("abc"):  # name order; row i of x pairs with row i of x_b
        assert torch.equal(d.fields["x"][i], chw(a[s])) and torch.equal(d.fields["x_b"][i], chw(b[s]))
    swapped = load(tmp_path, direction="BtoA")
    assert torch.equal(swapped.fields["x"], d.fields["x_b"]) and torch.equal(swapped.fields["x_b"], d.fields["x"])
    gray = load(tmp_path, channels=1, resolution=8, limit=2)
    assert gray.fields["x"].shape == (2, 1, 8, 8) and gray.fields["x_b"].shape == (2, 1, 8, 8)


def test_side_by_side_images(tmp_path: Path) -> None:
    both = [save(tmp_path / f"{i}.png", pixels(i, 32, 16)) for i in range(4)]
    d = load(tmp_path)
    assert d.fields["x"].shape == (4, 3, 16, 16)
    for i, arr in enumerate(both):
        assert torch.equal(d.fields["x"][i], chw(arr[:, :16])) and torch.equal(d.fields["x_b"][i], chw(arr[:, 16:]))
    un = load(tmp_path, paired=False)  # disjoint halves of the files
    assert torch.equal(un.fields["x"], d.fields["x"][:2])
    assert torch.equal(un.domains["b"].fields["x_b"], d.fields["x_b"][2:])


def test_pix2pix_and_cyclegan_layouts_with_splits(tmp_path: Path) -> None:
    pix = tmp_path / "pix"
    train = [save(pix / "train" / f"{i}.png", pixels(i, 16, 8)) for i in range(3)]
    test = [save(pix / "test" / f"{i}.jpg", pixels(9, 16, 8)) for i in range(2)]
    assert load(pix).fields["x"].shape == (3, 3, 8, 8) and torch.equal(load(pix).fields["x_b"][0], chw(train[0][:, 8:]))
    assert load(pix, split="test").fields["x"].shape == (len(test), 3, 8, 8)
    cyc = tmp_path / "cyc"
    for i in range(3):
        save(cyc / "trainA" / f"a{i}.png", pixels(i, 20, 20))
    for i in range(5):
        save(cyc / "trainB" / f"b{i}.png", pixels(i, 12, 12))
    save(cyc / "testA" / "t.png", pixels(1))
    save(cyc / "testB" / "u.png", pixels(2))
    un = load(cyc, paired=False, resolution=8)
    assert un.fields["x"].shape == (3, 3, 8, 8) and un.domains["b"].fields["x_b"].shape == (5, 3, 8, 8)
    assert un.domains["b"].specs["x_b"].kind == "image"
    t = load(cyc, paired=False, split="test")
    assert len(t) == 1 and len(t.domains["b"]) == 1 and t.fields["x"].shape[-1] == 16
    plain = tmp_path / "plain"
    save(plain / "A" / "x.png", pixels(0))
    save(plain / "B" / "x.png", pixels(1))
    refused(plain, "no test split", split="test")


def test_unpaired_folders_of_any_sizes(tmp_path: Path) -> None:
    for i, (w, h) in enumerate(((40, 30), (50, 50), (20, 64))):
        save(tmp_path / "A" / f"{i}.jpg", pixels(i, w, h))
    for i in range(2):
        save(tmp_path / "B" / f"other{i}.png", pixels(i, 24, 24))
    refused(tmp_path, "different sizes", "data.resolution", paired=False)
    d = load(tmp_path, paired=False, resolution=16)
    assert d.fields["x"].shape == (3, 3, 16, 16) and d.domains["b"].fields["x_b"].shape == (2, 3, 16, 16)
    assert set(d.fields) == {"x"} and set(d.domains["b"].fields) == {"x_b"}
    refused(tmp_path, "no partner", "A/0.jpg has no B/0.*")  # the same folders cannot be paired


def test_other_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    save(tmp_path / "A" / "x.png", pixels(0))
    save(tmp_path / "B" / "x.png", pixels(1))
    (tmp_path / "A" / "notes.txt").write_text("not an image")
    (tmp_path / "A" / ".hidden.png").write_bytes(b"junk")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = load(tmp_path)
    assert len(d) == 1 and any("A/notes.txt" in str(w.message) for w in caught)


# ---------------------------------------------------------------- refusals: one line, naming the files

def test_mismatched_names(tmp_path: Path) -> None:
    for s in "abc":
        save(tmp_path / "A" / f"{s}.png", pixels(0))
    for s in "abd":
        save(tmp_path / "B" / f"{s}.png", pixels(0))
    refused(tmp_path, "1 of 3 file(s) in A/", "A/c.png has no B/c.*", "B/d.png has no A/d.*", "data.paired=false")
    assert len(load(tmp_path, paired=False)) == 3  # unpaired: the names do not matter


def test_many_mismatches_are_counted(tmp_path: Path) -> None:
    for i in range(8):
        save(tmp_path / "A" / f"a{i}.png", pixels(0))
        save(tmp_path / "B" / f"b{i}.png", pixels(0))
    text = refused(tmp_path, "8 of 8 file(s) in A/", "and 5 more")
    assert len(text) < 600


def test_missing_side(tmp_path: Path) -> None:
    save(tmp_path / "A" / "x.png", pixels(0))
    refused(tmp_path, "B/ is missing")
    cyc = tmp_path / "cyc"
    save(cyc / "trainB" / "x.png", pixels(0))
    refused(cyc, "trainA/ is missing", paired=False)


def test_sizes_that_do_not_fit(tmp_path: Path) -> None:
    save(tmp_path / "sbs" / "ok.png", pixels(0, 32, 16))
    save(tmp_path / "sbs" / "wide.png", pixels(0, 50, 16))
    refused(tmp_path / "sbs", "wide.png is 50x16", "twice as wide")
    save(tmp_path / "pairs" / "A" / "p.png", pixels(0, 16, 16))
    save(tmp_path / "pairs" / "B" / "p.png", pixels(0, 8, 8))
    refused(tmp_path / "pairs", "A/p.png is 16x16 but B/p.png is 8x8")
    refused(tmp_path / "pairs", "A/p.png is 16x16 but B/p.png is 8x8", resolution=8)  # a resize does not align them
    save(tmp_path / "oblong" / "A" / "p.png", pixels(0, 16, 8))
    save(tmp_path / "oblong" / "B" / "p.png", pixels(0, 16, 8))
    refused(tmp_path / "oblong", "16x8, not square", "data.resolution")
    assert load(tmp_path / "oblong", resolution=8).fields["x"].shape == (1, 3, 8, 8)


def test_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "A").mkdir()
    save(tmp_path / "B" / "x.png", pixels(0))
    refused(tmp_path, "A/ has no image files")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(empty, "has no image files", "side-by-side")
    refused(tmp_path / "absent", "does not exist")
    with pytest.raises(UserError, match="data.path"):
        DATASETS.get("folder-pairs")(DataConfig(name="folder-pairs"))


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_unreadable_image_is_named(tmp_path: Path, damage: str) -> None:
    save(tmp_path / "A" / "good.png", pixels(0))
    save(tmp_path / "B" / "good.png", pixels(1))
    save(tmp_path / "A" / "bad.png", pixels(2, 64, 64))
    bad = tmp_path / "B" / "bad.png"
    if damage == "junk":
        bad.write_bytes(b"this is not a picture")
    else:
        data = Image.fromarray(pixels(3, 64, 64))
        data.save(bad)
        bad.write_bytes(bad.read_bytes()[:200])
    refused(tmp_path, "B/bad.png is not a readable image", resolution=16)


def test_same_name_twice_in_one_folder(tmp_path: Path) -> None:
    save(tmp_path / "A" / "x.png", pixels(0))
    save(tmp_path / "A" / "x.bmp", pixels(0))
    save(tmp_path / "B" / "x.png", pixels(0))
    refused(tmp_path, "A/x.bmp and A/x.png have the same name")
