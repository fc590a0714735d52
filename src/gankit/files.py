"""The one place that writes files atomically and hashes content: a leaf module (it imports
nothing of gankit but its error type), so checkpoints, scores, pictures and feature caches all share it without
importing each other.

    atomic_write(path, data)      readers see the old file or the new one, never half of one
    sha256_file(path)             content hash of a file, read in chunks
    sha256_tensors([x, y])        content hash of tensors in standard (NCHW, contiguous) layout
"""
from __future__ import annotations

import glob
import hashlib
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from gankit.errors import UserError


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (the directory entry itself is flushed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_file_mode(path: Path) -> int:
    """The mode a plainly created file would get (0o666 less the umask), or the one `path` has."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to a temporary file in the same directory, fsync it, then rename it over `path`.

    A crash leaves either the old file or the new one under `path`. The temporary file is hidden and
    named by the writing process (.NAME.PID.tmp), so concurrent writers never share one; a write that
    fails (a full disk, a file-size limit) removes it, and a successful one removes those left by
    writers that were killed mid-write. The new file gets the
    mode a plainly written file would get (0o666 less the umask), or that of the file it replaces.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UserError(f"cannot write {path}: {blocker} is a file, not a directory")
    # One temporary name per process: two processes writing one file never share a half-written one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = _new_file_mode(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # O_CREAT's mode is masked; an old .tmp keeps its own
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _remove_stale_temporaries(path)
    except OSError as exc:  # a full disk, a file-size limit, no permission: name the file, keep the old one
        raise UserError(f"cannot write {path}: {exc.strerror or exc}; the previous {path.name}, if any, is "
                        "unchanged") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of `path` left by writers that were killed mid-write (their process is gone)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")].strip(".")
        if pid.isdigit() and _alive(int(pid)):
            continue
        tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def strict_json(value: Any, why: str = "") -> Any:
    """`value` made valid strict JSON: a NaN or infinity becomes null and, in a dict, gains a sibling
    "KEY_why" saying why (JSON has no NaN; other tools reject a bare NaN)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k] = strict_json(v)
            if isinstance(v, float) and not math.isfinite(v) and f"{k}_why" not in value:
                out[f"{k}_why"] = why or f"{v} (not a number): undefined for these samples"
        return out
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
