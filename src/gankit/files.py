"""The one place that writes files atomically and hashes content: a leaf module (it imports
nothing of gankit), so checkpoints, scores, pictures and feature caches all share it without
importing each other.

    atomic_write(path, data)      readers see the old file or the new one, never half of one
    sha256_file(path)             content hash of a file, read in chunks
    sha256_tensors([x, y])        content hash of tensors in standard (NCHW, contiguous) layout
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from torch import Tensor


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (the directory entry itself is flushed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to a temporary file in the same directory, fsync it, then rename it over `path`.

    A crash leaves either the old file or the new one under `path`; the temporary file is removed
    when the write fails (a full disk, a file-size limit), so no debris is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tensors(tensors: Iterable[Tensor | None], salt: str = "") -> str:
    """SHA-256 of tensors' dtypes, shapes and values in standard (NCHW, contiguous) layout.

    The layout is normalised because training converts images to channels_last: the same
    data must give the same key however it is stored in memory.
    """
    digest = hashlib.sha256(salt.encode())
    for t in tensors:
        if t is None:
            digest.update(b"none")
            continue
        arr = np.ascontiguousarray(t.detach().cpu().contiguous().numpy())
        digest.update(f"{arr.dtype}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))  # no copy of a 188 MB array
    return digest.hexdigest()
