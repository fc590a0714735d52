"""What a running trainer tells the outside world, read and written without torch.

The dashboard (a separate process that must start fast and never builds a game) reads a run through
these modules only; the trainer writes through them, so both sides share one definition of each file:

    status.py     RUN/status.json        running | finished | stopped | diverged
    snapshots.py  RUN/live/step-N.json   the 2D duel every k steps (train/live2d.py writes them)
    control.py    RUN/control.*          opt-in pause / resume / step one phase (train/control_loop.py obeys)

Nothing in this package imports torch or gankit's training code (tests check it in a fresh process).
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["read_json", "write_json"]


def write_json(path: Path, value: Any, mode: int | None = None) -> Path:
    """`value` as JSON at `path`, atomically: a reader sees the old file or the new one, never half of one.

    gankit.files.atomic_write does the same but imports torch; this one is for torch-free writers (the
    dashboard's commands). No fsync: these files describe a live process and are rewritten often, so
    atomicity matters and durability across a power cut does not. `mode` (e.g. 0o600) is set before
    the file becomes visible under its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")  # one per writer thread
    data = (json.dumps(value, allow_nan=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)  # umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)  # exactly this mode (a stale .tmp keeps its own otherwise)
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_json(path: Path) -> Any:
    """The JSON value in `path`, or None when the file is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
