"""#17 part 3, folders larger than memory: a folder decodes once into a memory-mapped cache that is
reused until the folder changes, never trusted half-written, and gives the batches the in-memory
path gives, bit for bit."""
from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import config as config_mod
from gankit.config import DataConfig
from gankit.data import folder, folder_decode
from gankit.data.base import IMAGE_KINDS, BatchSampler
from gankit.errors import UserError
from gankit.train import checkpoint, session
from gankit.train.loop import Trainer, load_data
from tests.conftest import tiny_images


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory per test, so no test sees another's entries."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files decoded (in this process), in order."""
    seen: list[str] = []
    real = folder_decode.decode_image

    def counting(path, channels, side):
        seen.append(Path(path).name)
        return real(path, channels, side)

    monkeypatch.setattr(folder_decode, "decode_image", counting)
    return seen


def make_folder(root: Path, n: int = 12, classes: tuple[str, ...] = ()) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        where = root / classes[i % len(classes)] if classes else root
        where.mkdir(parents=True, exist_ok=True)
        # odd sizes and modes: every file is cropped and resized, some converted
        pixels = rng.integers(0, 256, (9 + i % 5, 11 + i % 3, 3), dtype=np.uint8)
        img = Image.fromarray(pixels)
        (img.convert("L") if i % 4 == 3 else img).save(where / f"{i:03d}.png")
    return root


def load(root: Path, cache: str = "memmap", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return folder.load_folder(DataConfig(name="folder", path=str(root), resolution=8, cache=cache, **kw))


def entries(cache: Path, suffix: str = ".u8") -> list[Path]:
    return sorted(cache.glob(f"folders/*/*{suffix}"))


def mapped_file(t: torch.Tensor) -> str | None:
    """The file (or [heap]) whose mapping holds t's memory, from /proc/self/maps; None if anonymous."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *rest = line.split(maxsplit=5)
        start, end = (int(v, 16) for v in span.split("-"))
        if start <= t.data_ptr() < end:
            return rest[4] if len(rest) == 5 else None
    return None


def test_cache_is_built_once_and_reused_without_decoding(tmp_path: Path, decodes: list[str], _cache: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    first = load(root)
    assert len(decodes) == 12 and set(first.mapped) == {"x"} and len(first) == 12
    decodes.clear()
    again = load(root)
    assert decodes == [] and torch.equal(first.fields["x"], again.fields["x"])
    # the field is the mapping of the cache file itself, not a copy in memory
    (u8,) = entries(_cache)
    assert u8.stat().st_size == 12 * 3 * 8 * 8 and mapped_file(again.fields["x"]) == str(u8)
    assert not str(mapped_file(load(root, cache="memory").fields["x"])).endswith(".u8")
    decodes.clear()
    # other decode settings are another entry; data.limit is a view of the same one
    load(root, channels=1)
    assert len(decodes) == 12 and len(entries(_cache)) == 2
    decodes.clear()
    assert len(load(root, limit=5)) == 5 and decodes == []


def test_a_changed_added_or_removed_file_rebuilds_the_cache(tmp_path: Path, decodes: list[str], _cache: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    before = load(root).fields["x"].clone()

    def rebuilt() -> bool:
        decodes.clear()
        load(root)
        return len(decodes) > 0

    target = root / "004.png"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # mtime only
    assert rebuilt()
    Image.new("RGB", (9, 11), (1, 2, 3)).save(target)  # new pixels
    data = load(root)
    assert not torch.equal(data.fields["x"][4], before[4]) and torch.equal(data.fields["x"][5], before[5])
    assert not rebuilt()  # unchanged since: reused
    Image.new("RGB", (5, 5)).save(root / "new.png")
    assert rebuilt() and len(load(root)) == 13
    (root / "000.png").unlink()
    assert rebuilt() and len(load(root)) == 12
    assert len(entries(_cache)) == 1 and len(entries(_cache, ".json")) == 1  # stale entries were removed


def test_corrupt_files_are_skipped_with_a_count_and_a_log(tmp_path: Path, _cache: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    (root / "fake.png").write_text("not an image at all")
    good = (root / "001.png").read_bytes()
    (root / "torn.png").write_bytes(good[: len(good) // 2])
    for _ in range(2):  # built, then reused: the same warning both times
        with pytest.warns(UserWarning, match="skipped 2 unreadable image file") as rec:
            data = folder.load_folder(DataConfig(name="folder", path=str(root), resolution=8, cache="memmap"))
        assert len(data) == 12
        (msg,) = [str(w.message) for w in rec if "skipped" in str(w.message)]
        assert "fake.png" in msg and "torn.png" in msg
        log = Path(msg.split("listed in ")[1])
        assert log.read_text().split() == ["fake.png", "torn.png"]
    memory = load(root, cache="memory")
    assert torch.equal(memory.fields["x"], data.fields["x"])


def test_empty_or_unreadable_folders_are_one_clear_error(tmp_path: Path, _cache: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="has no image files"):
        load(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    with pytest.raises(UserError, match=r"none of the 3 image files in folder .*bad could be read \(0.png, 1.png, 2.png\)"):
        load(bad)
    assert entries(_cache) == [] and entries(_cache, ".json") == [] and entries(_cache, ".tmp") == []


def test_a_build_killed_midway_is_never_trusted(tmp_path: Path, decodes: list[str], _cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_folder(tmp_path / "imgs", n=40)
    real = folder_decode.decode_image
    # the builder writes two chunks of 4, then stalls until it is killed
    monkeypatch.setattr(folder_decode, "decode_image", lambda p, c, s: real(p, c, s) if int(Path(p).stem) < 8
                        else time.sleep(60))
    monkeypatch.setattr(folder_decode, "MAX_CHUNK", 4)
    pid = os.fork()
    if pid == 0:  # the builder, killed with SIGKILL below: no chance to clean up
        try:
            load(root)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while not list(_cache.glob("folders/*/.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.2)  # into the stall
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert entries(_cache, ".json") == [] and len(list(_cache.glob("folders/*/.*.tmp"))) == 1
    monkeypatch.setattr(folder_decode, "decode_image", real)
    # a data file without its .json, or one of the wrong size, is rebuilt too
    data = load(root)
    assert len(decodes) == 40 and list(_cache.glob("folders/*/.*.tmp")) == []
    (u8,) = entries(_cache)
    (meta,) = entries(_cache, ".json")
    for damage in (lambda: meta.unlink(), lambda: os.truncate(u8, u8.stat().st_size - 1)):
        damage()
        decodes.clear()
        assert torch.equal(load(root).fields["x"], data.fields["x"]) and len(decodes) == 40
    # Ctrl-C during a build leaves nothing behind
    monkeypatch.setattr(folder_decode, "decode_image", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    meta.unlink()
    with pytest.raises(KeyboardInterrupt):
        load(root)
    assert entries(_cache, ".json") == [] and list(_cache.glob("folders/*/.*.tmp")) == []


@pytest.mark.parametrize("pool", [False, True])
def test_memmap_batches_equal_in_memory_batches_bit_for_bit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            pool: bool) -> None:
    root = make_folder(tmp_path / "imgs", n=48, classes=("cat", "dog", "eel"))
    (root / "dog" / "001x.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # the 5th file: the in-memory path refills
    monkeypatch.setattr(folder_decode, "MAX_CHUNK", 3)  # chunks of 3 files
    memory = load(root, cache="memory", limit=40)
    if pool:  # forked worker processes decode the chunks
        monkeypatch.setattr(folder_decode, "POOL_MIN_FILES", 8)
    mapped = load(root, cache="memmap", limit=40)
    assert set(mapped.mapped) == {"x"} and not memory.mapped
    assert len(memory) == len(mapped) == 40
    assert torch.equal(memory.fields["x"], mapped.fields["x"]) and torch.equal(memory.y, mapped.y)
    # what the trainer does: the move to the device (channels_last on the CPU), then sampled batches
    for data in (memory, mapped):
        data.map_fields(lambda kind, t: t.contiguous(memory_format=torch.channels_last) if kind in IMAGE_KINDS else t)
    assert mapped.fields["x"].is_contiguous()  # the mapped field itself is left alone
    a, b = BatchSampler(memory, 16, seed=3), BatchSampler(mapped, 16, seed=3)
    for _ in range(3):
        ba, bb = a.sample(), b.sample()
        assert ba.keys() == bb.keys() and all(torch.equal(ba[k], bb[k]) for k in ba)
        assert bb["x"].is_contiguous(memory_format=torch.channels_last) == ba["x"].is_contiguous(
            memory_format=torch.channels_last)
    assert torch.equal(memory.x, mapped.x) and torch.equal(memory.rows(torch.arange(5)).x, mapped.rows(torch.arange(5)).x)


def test_auto_maps_only_what_would_crowd_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_folder(tmp_path / "imgs")
    assert not load(root, cache="auto").mapped
    monkeypatch.setattr(folder, "_available_bytes", lambda: 4 * 12 * 3 * 8 * 8 - 1)  # 1/4 of it is just too small
    assert set(load(root, cache="auto").mapped) == {"x"}
    with pytest.raises(UserError, match="data.cache"):
        config_mod.build({"data": {"cache": "disk"}})


def test_training_on_a_mapped_folder_matches_the_in_memory_run(tmp_path: Path, capsys) -> None:
    root = make_folder(tmp_path / "imgs", n=20, classes=("a", "b"))
    weights = {}
    for cache in ("memory", "memmap"):
        cfg = tiny_images(**{"data.name": "folder", "data.path": str(root), "data.resolution": "8",
                             "data.channels": "3", "data.cache": cache, "train.steps": "3", "train.ckpt_every": "3"})
        run = session.train_new(cfg, tmp_path / cache)
        assert run.step == 3
        state = checkpoint.load_latest(run.run_dir)
        weights[cache] = {f"{p}.{k}": v for p, sd in state["players"].items() for k, v in sd.items()}
    assert "memory-mapped from" in capsys.readouterr().err
    # the trainer left the field mapped (its move to the device applies per batch), not read into memory
    data = load_data(cfg)
    address = data.fields["x"].data_ptr()
    trainer = Trainer(cfg, tmp_path / "unused", data=data)
    assert set(trainer.data.mapped) == {"x"} and trainer.data.fields["x"].data_ptr() == address
    assert mapped_file(trainer.data.fields["x"]).endswith(".u8")
    assert all(torch.equal(weights["memory"][k], weights["memmap"][k]) for k in weights["memory"])


def test_data_cache_is_refused_where_it_would_do_nothing(tmp_path) -> None:
    from gankit.errors import UserError
    from gankit.train.loop import load_data
    from tests.conftest import tiny_toy

    with pytest.raises(UserError, match="data.cache is for the folder dataset"):
        load_data(tiny_toy(**{"data.cache": "memmap"}))
