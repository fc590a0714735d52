"""Decoding image files to uint8 pixels, on every core, with a progress bar.

    for pixels, bad in decode_files(paths, channels=3, side=64):
        ...  # in file order: pixels uint8 (k, C, side, side) of the readable files of one chunk,
             # bad = the positions (in `paths`) of the unreadable ones

Both folder paths use it: the in-memory one (`data.cache = "memory"`) stacks the chunks, the cache
(memmap_cache.py) streams them to disk; so both hold the same bytes. Few files are decoded by threads
in this process (Pillow releases the GIL while decoding and resizing); many by a pool of forked
processes over chunks of files, since for small images the per-file Python work (open, convert,
asarray) holds the GIL and threads stop scaling beyond ~2 cores.
"""
from __future__ import annotations

import multiprocessing
import os
import struct
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.data.transforms import resize_square, to_channels

# What Pillow raises on damaged or misnamed files, depending on the format plugin.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                 KeyError, TypeError, ZeroDivisionError, Image.DecompressionBombError)
# Changes whenever decode_image would give other pixels for the same file: part of the cache key.
DECODE_RULE = "exif_transpose,to_channels,centre-crop,lanczos-down/bicubic-up,reducing_gap=3;v1"

POOL_MIN_FILES = 512  # below this, threads in this process: a pool's start-up is not worth it
MAX_CHUNK = 256  # files per task of the pool: large enough to amortise pickling, small enough to balance


def decode_image(path: Path | str, channels: int, side: int) -> np.ndarray | None:
    """One file -> uint8 (side, side) or (side, side, 3), or None when it can't be decoded."""
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)  # photos: honour the camera's orientation
            return np.asarray(resize_square(to_channels(img, channels), side))
    except DECODE_ERRORS:
        return None


def shown(root: Path, paths: list[str], most: int = 5) -> str:
    """The first few of `paths`, relative to `root`, for a one-line message."""
    out = ", ".join(str(Path(p).relative_to(root)) for p in paths[:most])
    return out + (f" and {len(paths) - most} more" if len(paths) > most else "")


def unreadable(root: Path, paths: list[str]) -> str:
    """The one line for a folder whose files all failed to decode."""
    return f"none of the {len(paths)} image files in folder {root} could be read ({shown(root, paths)})"


def _stack(arrays: list[np.ndarray], channels: int, side: int) -> np.ndarray:
    """HWC pixels -> one uint8 (k, C, side, side) block, the layout TensorData stores images in."""
    if not arrays:
        return np.empty((0, channels, side, side), np.uint8)
    block = np.stack(arrays)
    block = block[..., None] if block.ndim == 3 else block
    return np.ascontiguousarray(block.transpose(0, 3, 1, 2))


def decode_chunk(paths: list[str], channels: int, side: int) -> tuple[np.ndarray, list[int]]:
    """A chunk of files -> (pixels of the readable ones, in order; positions of the unreadable ones)."""
    arrays, bad = [], []
    for i, p in enumerate(paths):
        arr = decode_image(p, channels, side)
        if arr is None:
            bad.append(i)
        else:
            arrays.append(arr)
    return _stack(arrays, channels, side), bad


def workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _progress(total: int, desc: str):  # -> tqdm
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, tests); mininterval keeps it cheap
    return tqdm(total=total, desc=desc, unit="img", disable=None, mininterval=0.5, leave=False)


def decode_files(paths: list[str], channels: int, side: int, desc: str = "decoding") \
        -> Iterator[tuple[np.ndarray, list[int]]]:
    """Decode `paths` in order, as chunks (pixels uint8 (k, C, side, side), positions in `paths` of
    the unreadable files of that chunk); pixels stay in the caller's memory one chunk at a time."""
    names = [str(p) for p in paths]  # (Path objects work too)
    cores = workers()
    with _progress(len(names), desc) as bar:
        if len(names) < POOL_MIN_FILES or cores < 2:
            yield from _threads(names, channels, side, cores, bar)
        else:
            yield from _processes(names, channels, side, cores, bar)


def _threads(names: list[str], channels: int, side: int, cores: int, bar) -> Iterator[tuple[np.ndarray, list[int]]]:
    step = max(1, min(MAX_CHUNK, len(names)))
    with ThreadPoolExecutor(max_workers=min(8, max(cores, 1))) as pool:
        for start in range(0, len(names), step):
            part = names[start : start + step]
            arrays, bad = [], []
            for i, arr in enumerate(pool.map(lambda p: decode_image(p, channels, side), part)):
                if arr is None:
                    bad.append(start + i)
                else:
                    arrays.append(arr)
            bar.update(len(part))
            yield _stack(arrays, channels, side), bad


def _processes(names: list[str], channels: int, side: int, cores: int, bar) \
        -> Iterator[tuple[np.ndarray, list[int]]]:
    # ~8 chunks per core balance slow files; fork, not spawn: a spawned worker would import torch
    # and gankit again (seconds each), and the workers touch only Pillow and NumPy.
    chunk = max(1, min(MAX_CHUNK, max(16, len(names) // (cores * 8))))
    starts = range(0, len(names), chunk)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
        pending: deque[tuple[int, Future]] = deque()
        todo = iter(starts)
        # A bounded window of chunks in flight: decoded pixels never pile up in memory faster than
        # the caller writes them out.
        for start in todo:
            pending.append((start, pool.submit(decode_chunk, names[start : start + chunk], channels, side)))
            if len(pending) >= 2 * cores:
                break
        try:
            while pending:
                start, future = pending.popleft()
                pixels, bad = future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(decode_chunk, names[nxt : nxt + chunk], channels, side)))
                bar.update(min(chunk, len(names) - start))
                yield pixels, [start + i for i in bad]
        finally:  # the caller stopped early (enough images, Ctrl-C): drop what has not started
            for _, future in pending:
                future.cancel()
