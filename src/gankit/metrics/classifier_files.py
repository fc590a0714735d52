"""Domain-classifier files: the ones shipped with gankit (checked against their manifest) and reading
any classifier file's weights and metadata (safetensors: no code runs on load)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from torch import nn

from gankit.errors import UserError
from gankit.files import sha256_file

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "classifiers"  # scripts/train_shipped_classifiers.py


def shipped(name: str) -> Path | None:
    """The classifier file shipped with gankit under `name`, checked against its manifest; None if none."""
    path = SHIPPED_DIR / name
    if not path.is_file():
        return None
    try:
        expected = json.loads((SHIPPED_DIR / "MANIFEST.json").read_text())[name]["file_sha256"]
    except (OSError, ValueError, KeyError):
        expected = None
    if expected is None or sha256_file(path) != expected:
        raise UserError(f"the classifier {path} shipped with gankit does not match its manifest (damaged "
                        "install); reinstall gankit")
    return path


def read(model: nn.Module, path: Path) -> dict[str, str]:
    """Load a classifier file's weights into `model`; returns its metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    model.load_state_dict(load_file(str(path)))
    return meta


def read_cached(model: nn.Module, path: Path, what: str, log: Callable[[str], None],
                check: Callable[[dict[str, str]], object] = lambda meta: None) -> dict[str, str] | None:
    """A cached judge's metadata with its weights loaded into `model`; None (and a line saying why, so it
    is retrained) when the file is missing or unreadable. `check(meta)` may raise on metadata it needs."""
    from safetensors import SafetensorError

    if not path.is_file():
        return None
    try:
        meta = read(model, path)
        check(meta)
        log(f"{what}: loaded from cache {path}")
        return meta
    except (SafetensorError, OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        log(f"{what}: cache file {path} is unreadable ({str(exc).splitlines()[0]}); retraining")
        return None
