"""A folder's decoded images, kept once on disk and memory-mapped (#17: folders larger than memory).

Where: $GANKIT_CACHE/folders (default ~/.cache/gankit/folders), never beside the images, since the
image folder may be read-only or shared. One directory per (folder path, decode settings), holding
the entry of the folder's current content:

    folders/<id>/<key>.u8            the readable images' pixels, uint8 (N, C, side, side), row after row
    folders/<id>/<key>.json          rows, shape, the folder, the skipped files: written last, the
                                     mark of a complete entry
    folders/<id>/<key>.skipped.txt   the unreadable files, one per line (the warning names this log)
    folders/<id>/.lock               held while building, so two runs (or DDP ranks) decode once

key = sha256 of the decode settings (channels, side, `DECODE_RULE`, Pillow's version) and of every
file's relative path, label, size, mtime, ctime and inode: a changed, added or removed file gives a
new key, so a stale entry is never read, and the entry it replaces is deleted. The pixels are
written under a temporary name, fsynced and renamed, then the .json: an entry that a kill
interrupted has no .json (or a .u8 of the wrong size) and is rebuilt, never trusted.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import mmap
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
import torch
from torch import Tensor

from gankit.data.folder_decode import DECODE_RULE, decode_files, unreadable
from gankit.errors import UserError
from gankit.files import atomic_write, fsync_dir

FORMAT = "gankit-folder-cache/1"


class MappedRows:
    """A .u8 file mapped copy-on-write (pages are read on demand, never written back) as a uint8
    tensor (N, C, side, side), and `gather`, which reads rows of it for a batch."""

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        with open(path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
        self.tensor = torch.from_numpy(np.frombuffer(self._map, np.uint8).reshape(shape))

    def gather(self, idx: Tensor) -> Tensor:
        """Rows `idx` (on the CPU), copied out of the mapping."""
        rows = self.tensor[idx]
        # A page fault maps whole page-cache folios (~300 KB a row on Linux 6.x), which count in this
        # process's RSS until it unmaps them: unmapped after each copy, RSS holds a batch, not the file.
        # The pages stay in the page cache, so the next read of them is still a memory read.
        if hasattr(self._map, "madvise"):
            self._map.madvise(mmap.MADV_DONTNEED)  # safe: nothing is ever written to the mapping
        return rows


@dataclass(frozen=True)
class Cached:
    """A complete cache entry, mapped: `pixels.tensor` (N, C, side, side) uint8 are the readable
    files in scan order; `skipped` the positions (in the scanned list) of the unreadable ones."""

    pixels: MappedRows
    skipped: list[int]
    path: Path
    log: Path | None
    built: bool  # decoded now (False: an earlier run's entry was reused)


def cache_root() -> Path:
    """$GANKIT_CACHE/folders, else ~/.cache/gankit/folders."""
    return Path(os.environ.get("GANKIT_CACHE") or "~/.cache/gankit").expanduser() / "folders"


def _keys(root: Path, items: list[tuple[str, int]], channels: int, side: int) -> tuple[str, str]:
    """(the folder-and-settings directory name, the content key)."""
    settings = json.dumps({"format": FORMAT, "channels": channels, "side": side, "rule": DECODE_RULE,
                           "pillow": PIL.__version__}, sort_keys=True)
    folder_id = hashlib.sha256(f"{root.resolve()}\n{settings}".encode()).hexdigest()[:24]
    h = hashlib.sha256(settings.encode())
    prefix = len(os.path.join(str(root), ""))  # the scan joined every path to str(root): cut it as a string
    for name, label in items:
        try:
            st = os.stat(name)
        except OSError as exc:
            raise UserError(f"folder {root}: {name[prefix:]} changed while being read ({exc.strerror})") from None
        # ctime and inode too: a file rewritten in place within the mtime's resolution, or replaced by
        # a copy that kept its mtime (cp -p, rsync -t), still changes the key.
        h.update(f"{name[prefix:]}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n"
                 .encode())
    return folder_id, h.hexdigest()


def _complete(u8: Path, meta_path: Path, key: str, row: tuple[int, ...]) -> dict | None:
    """The entry's metadata when it is complete and is the one for `key`; None otherwise."""
    try:
        meta = json.loads(meta_path.read_text())
        ok = (meta["format"] == FORMAT and meta["key"] == key and tuple(meta["row"]) == row
              and u8.stat().st_size == int(meta["rows"]) * math.prod(row) and int(meta["rows"]) > 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if ok else None


@contextmanager
def _lock(where: Path) -> Iterator[None]:
    fd = os.open(where / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"gankit: waiting for another process that is decoding this folder into {where}", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield  # the kernel drops the lock of a killed holder
    finally:
        os.close(fd)


def open_or_build(root: Path, items: list[tuple[str, int]], channels: int, side: int) -> Cached:
    """The mapped entry of `items` (files with their labels, in scan order) decoded at (channels,
    side): an existing complete entry for the same content, else one decoded now."""
    folder_id, key = _keys(root, items, channels, side)
    where, name = cache_root() / folder_id, key[:32]  # the full key is checked in the .json
    u8, meta_path = where / f"{name}.u8", where / f"{name}.json"
    row = (channels, side, side)
    meta, built = _complete(u8, meta_path, key, row), False
    if meta is None:
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder cache {where} ({exc.strerror}); set GANKIT_CACHE to a writable "
                            "directory, or data.cache=memory") from None
        with _lock(where):
            meta = _complete(u8, meta_path, key, row)  # another process may have built it while we waited
            if meta is None:
                meta, built = _build(root, items, row, where, key, name), True
    pixels = MappedRows(u8, (int(meta["rows"]), *row))
    log = where / meta["log"] if meta.get("log") else None
    return Cached(pixels, [int(i) for i in meta["skipped"]], u8, log, built)


def _build(root: Path, items: list[tuple[str, int]], row: tuple[int, ...], where: Path, key: str, name: str) -> dict:
    """Decode every file into where/name.u8 and commit the entry (called with the lock held)."""
    for stale in where.glob(".*.tmp"):  # a builder killed mid-write left it: we hold the lock, no one writes it
        stale.unlink(missing_ok=True)
    need, free = len(items) * math.prod(row), shutil.disk_usage(where).free
    if need > free:
        raise UserError(f"decoding folder {root} needs up to {need / 1e9:.2f} GB in {where}, and {free / 1e9:.2f} GB "
                        "is free; set GANKIT_CACHE to a larger disk, or data.cache=memory")
    tmp = where / f".{name}.u8.{os.getpid()}.tmp"
    print(f"gankit: decoding {len(items)} files of {root} into the cache {where} (once, until the folder changes)",
          file=sys.stderr)
    rows, skipped = 0, []
    start = time.monotonic()
    try:
        with open(tmp, "wb") as fh:
            for pixels, bad in decode_files([p for p, _ in items], row[0], row[1], desc=f"decoding {root.name}"):
                fh.write(pixels.tobytes())  # one chunk (<= 256 images) at a time
                rows += len(pixels)
                skipped += bad
            fh.flush()
            os.fsync(fh.fileno())
        if rows == 0:
            raise UserError(unreadable(root, [items[i][0] for i in skipped]))
        os.replace(tmp, where / f"{name}.u8")
        fsync_dir(where)
    except OSError as exc:  # a full disk, a file-size limit: name the place, keep nothing half-written
        raise UserError(f"cannot write the folder cache {where} ({exc.strerror or exc}); set GANKIT_CACHE to another "
                        "directory, or data.cache=memory") from None
    finally:
        tmp.unlink(missing_ok=True)
    log = None
    if skipped:
        log = f"{name}.skipped.txt"
        atomic_write(where / log, "".join(f"{Path(items[i][0]).relative_to(root)}\n" for i in skipped).encode())
    meta = {"format": FORMAT, "key": key, "folder": str(root.resolve()), "rows": rows, "row": list(row),
            "files": len(items), "skipped": skipped, "log": log, "decode_s": round(time.monotonic() - start, 3)}
    atomic_write(where / f"{name}.json", json.dumps(meta).encode())  # last: the entry is complete from here on
    for old in where.iterdir():  # entries of the folder's earlier content (a run that maps one keeps its inode)
        if not old.name.startswith((name, ".")):
            old.unlink(missing_ok=True)
    print(f"gankit: decoded {len(items)} files in {meta['decode_s']:.1f} s ({rows * math.prod(row) / 1e6:.1f} MB)",
          file=sys.stderr)
    return meta
