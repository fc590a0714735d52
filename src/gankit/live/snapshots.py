"""RUN/live/step-NNNNNNNN.json: the 2D duel as the trainer saw it every `train.live_every` steps.

Written by train/live2d.py (atomically: a reader never sees half a file), read here without torch.
Schema "gankit-live2d/1" (every field is always present; a part a game cannot show is null, with
a KEY_why sentence saying why, never a wrong picture):

    schema        "gankit-live2d/1"
    step          the training step the players had finished
    seq           increases with every snapshot the run writes (resumed sessions too): a manual step
                  rewrites the file of its step with a higher seq, so a page polls `latest(run, seq)`
    written       Unix time
    manual        phases run by hand (control) since `step` was reached, in order, e.g. ["D", "D"]
    game, loss    the game's name and its loss when it has one (else null)
    bounds        [xmin, xmax, ymin, ymax], fixed for the run (the data's extent with a margin, as the
                  sample pictures use)
    real          [[x, y], ...] a fixed sample of the data (256 points, the same in every snapshot)
    fake          [[x, y], ...] G's samples for a fixed z (256, the first z of the sample pictures)
    fake_from     which weights drew them: "live" (the weights being trained; pictures use the EMA)
    surface       {"xs": [nx], "ys": [ny], "values": [ny][nx]} D on the grid: values[i][j] at (xs[j], ys[i])
    surface_kind  "probability" (sigmoid of D's logit) or "score" (a Wasserstein-type critic's raw value)
    surface_of    what the surface is, e.g. "D(x)", "D(x, E(x))"
    warp          {"z_range": [lo, hi], "points": [rows][cols][2]} G applied to a grid in z's first two
                  dimensions (the other z dimensions 0, conditions those of the first fake): lines of
                  equal z1 are rows, of equal z2 columns; a 1-D z gives one row
    pull          [[dx, dy], ...] one per fake: -N dL_G/d fake_i, the direction and strength with which
                  G's loss pushes each fake (N = number of fakes, so the size does not depend on N)
    pull_of       G's loss L_G the arrows come from
    surface_why, warp_why, pull_why    null, or why that part is null
All players are evaluated in eval mode (no dropout, batch norm with running statistics), without any
random parts of the losses (instance noise).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gankit.live import read_json

LIVE_DIR = "live"
SCHEMA = "gankit-live2d/1"
_NAME = re.compile(r"step-(\d{8,})\.json")

__all__ = ["LIVE_DIR", "SCHEMA", "latest", "list_snapshots", "read_snapshot", "snapshot_path"]


def snapshot_path(run_dir: str | os.PathLike[str], step: int) -> Path:
    return Path(run_dir) / LIVE_DIR / f"step-{int(step):08d}.json"


def list_snapshots(run_dir: str | os.PathLike[str]) -> list[int]:
    """The steps that have a snapshot, ascending ([] for a run without any: images, or live_every = 0)."""
    try:
        names = os.listdir(Path(run_dir) / LIVE_DIR)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(_NAME.fullmatch, names) if m)


def read_snapshot(run_dir: str | os.PathLike[str], step: int) -> dict[str, Any]:
    """The snapshot of `step`; FileNotFoundError when there is none (or it was thinned out meanwhile)."""
    value = read_json(snapshot_path(run_dir, step))
    if not isinstance(value, dict) or value.get("schema") != SCHEMA:
        raise FileNotFoundError(f"no live snapshot of step {step} in {run_dir}")
    return value


def latest(run_dir: str | os.PathLike[str], after: int | None = None) -> dict[str, Any] | None:
    """The newest snapshot, or None when there is none or when its "seq" is not above `after`
    (the seq of the snapshot the caller already has: pass it back to poll for a new one)."""
    for step in reversed(list_snapshots(run_dir)):
        try:
            snap = read_snapshot(run_dir, step)
        except FileNotFoundError:  # thinned out between the listing and the read
            continue
        return snap if after is None or int(snap.get("seq", -1)) > after else None
    return None
