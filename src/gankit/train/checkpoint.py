"""Checkpoints: atomic, checksummed, loaded without executing code.

Layout in a run directory:
    checkpoints/step-00001000.pt     torch.save of a dict of tensors and plain values
    checkpoints/step-00001000.json   {"step", "sha256", "game", "bytes"} written after the .pt

Each file is written to a temporary name, fsynced and renamed, so a crash leaves either
the old state or the new one, never half a file under the real name. The JSON is the
commit record: a .pt without its JSON (killed between the two renames) is ignored.
Loading verifies the checksum and uses `torch.load(weights_only=True)`, which refuses
pickles that would run code. The last `keep` checkpoints are kept.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch

from gankit.errors import UserError
from gankit.files import atomic_write, fsync_dir

CKPT_DIR = "checkpoints"


def save(run_dir: Path, step: int, state: dict[str, Any], game: str, keep: int = 2) -> Path:
    """Write the checkpoint for `step` atomically and prune older ones."""
    folder = run_dir / CKPT_DIR
    folder.mkdir(exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    path = folder / f"step-{step:08d}.pt"
    atomic_write(path, data)
    record = {"step": step, "game": game, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write(path.with_suffix(".json"), json.dumps(record).encode())
    fsync_dir(folder)
    for old in committed(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return path


def committed(run_dir: Path) -> list[Path]:
    """Checkpoint files whose commit record exists, oldest first."""
    folder = run_dir / CKPT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*.pt") if p.with_suffix(".json").exists())


def _load_one(path: Path, game: str | None) -> dict[str, Any]:
    try:
        record = json.loads(path.with_suffix(".json").read_text())
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise UserError(f"checkpoint {path} is unreadable: {exc}") from None
    if len(data) != record.get("bytes") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise UserError(f"checkpoint {path} is truncated or corrupt (checksum mismatch)")
    if game is not None and record.get("game") != game:
        raise UserError(f"checkpoint {path} is from game {record.get('game')!r}, not {game!r}")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses code-executing pickles with UnpicklingError
        raise UserError(f"checkpoint {path} refused: not a plain-tensor checkpoint ({type(exc).__name__})") from None


def load_latest(run_dir: Path, game: str | None = None) -> dict[str, Any]:
    """The newest checkpoint that verifies; a bad newest one falls back to the previous."""
    paths = committed(run_dir)
    if not paths:
        raise UserError(f"{run_dir} has no checkpoint to load (expected {run_dir / CKPT_DIR}/step-*.pt)")
    errors = []
    for path in reversed(paths):
        try:
            state = _load_one(path, game)
        except UserError as exc:
            if "from game" in str(exc):
                raise
            errors.append(str(exc))
            continue
        if errors:
            warnings.warn(f"{errors[-1]}; using the previous checkpoint {path.name}", stacklevel=2)
        return state
    raise UserError(f"no usable checkpoint in {run_dir}: {'; '.join(errors)}")
