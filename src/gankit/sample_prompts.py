"""`gankit sample RUN --prompt TEXT / --prompts FILE / --tags "a,b"`: one grid row per prompt.

Each prompt (a sentence for a text-conditional run, a comma-separated tag list for a tag run) gets
one row of samples with distinct z, the prompt printed under its row; the samples are also written
as OUT.npy, float32 (prompts, per_row, C, H, W) in [-1, 1], and the prompts as OUT.prompts.txt.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import UserError

_ASKS = {"text": ("--prompt", ("tokens", "embedding")), "tags": ("--tags", ("multi_hot",))}


def read_prompts(path: str) -> list[str]:
    """Prompts of a file, one per line (blank lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--prompts {path}: no such file")
    try:
        lines = [line.strip() for line in p.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError:
        raise UserError(f"--prompts {path}: not UTF-8 text") from None
    prompts = [line for line in lines if line]
    if not prompts:
        raise UserError(f"--prompts {path}: the file has no prompts (one per line)")
    return prompts


def check_asks(game: Any, key: str) -> str:
    """The game's condition key for asks of `key` (text or tags), or one line saying why not."""
    flag, kinds = _ASKS[key]
    if not game.conditions:
        raise UserError(f"this run is unconditional: it draws from noise alone and cannot follow {flag}")
    cond_key, spec = next(iter(game.conditions.items()))
    if spec.kind not in kinds:
        hint = {"label": "--label N or --condition label=NAME", "multi_hot": "--tags \"a,b\"",
                "tokens": "--prompt TEXT", "embedding": "--prompt TEXT"}.get(spec.kind, "")
        raise UserError(f"this run is conditioned on {cond_key} ({spec.kind}), not on {key}; ask it with {hint}")
    return cond_key


def sample_rows(run: Any, key: str, asks: list[str], per_row: int, seed: int, out: Path) -> list[Path]:
    """Draw `per_row` samples for each ask; write the captioned grid, the .npy and the prompts."""
    from gankit.evaluate.asked import draw
    from gankit.files import atomic_write
    from gankit.nets.conditioning import ask
    from gankit.viz.captioned import captioned_grid
    from gankit.viz.grids import save_png

    cond_key = check_asks(run.game, key)
    spec = run.game.conditions[cond_key]
    c = torch.cat([ask(spec, per_row, a) for a in asks])  # every ask checked before any drawing
    fake = draw(run.game, run.players, cond_key, c, seed)
    grid = captioned_grid(fake, per_row, asks)
    npy, txt = out.with_suffix(".npy"), out.with_suffix(".prompts.txt")
    buffer = _npy_bytes(fake.view(len(asks), per_row, *fake.shape[1:]).numpy().astype(np.float32))
    return [save_png(grid, out), atomic_write(npy, buffer), atomic_write(txt, ("\n".join(asks) + "\n").encode())]


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
