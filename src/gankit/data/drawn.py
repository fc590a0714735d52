"""What the drawn datasets (shapes, characters) share: their cache of arrays and their checks.

A drawn split is generated from a fixed seed, so it is the same on every machine; it is kept as one
compressed .npz under $GANKIT_CACHE/data (strings as numpy unicode arrays, loaded without pickle) and
drawn again if that file is unreadable.
"""
from __future__ import annotations

import io
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gankit.config import DataConfig
from gankit.errors import UserError


def cache_file(name: str) -> Path:
    from gankit.metrics.features import cache_dir

    return cache_dir() / "data" / name


def cached_arrays(path: Path, make: Callable[[], dict[str, Any]], what: str) -> dict[str, np.ndarray]:
    """The arrays in `path`, or make() (lists become unicode arrays) written there atomically."""
    from gankit.files import atomic_write

    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            print(f"{what}: cache file {path} is unreadable ({exc}); drawing it again", file=sys.stderr)
    arrays = {k: (np.array(v, dtype=np.str_) if isinstance(v, list) else v) for k, v in make().items()}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return arrays


def drawn_side(cfg: DataConfig, name: str, splits: tuple[str, ...], sides: tuple[int, ...], default: int) -> int:
    """The side a drawn dataset is drawn at (data.resolution, 0 = default), after checking split and channels."""
    if cfg.split not in splits:
        raise UserError(f"dataset {name!r} has splits {', '.join(splits)}; got data.split={cfg.split!r}")
    side = cfg.resolution or default
    if side not in sides:
        shown = ", ".join(map(str, sides[:-1])) + f" or {sides[-1]}"
        raise UserError(f"dataset {name!r} is drawn at {shown} px; got data.resolution={side}")
    if cfg.channels not in (0, 3):
        raise UserError(f"dataset {name!r} is RGB: leave data.channels at 0 or 3")
    return side
