"""Run directories: created fresh, never overwritten; metrics.jsonl appended row by row.

A run directory holds config.toml (the resolved config), metrics.jsonl, samples/,
checkpoints/, and at the end progress.gif, curves.png and scores.json.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gankit.errors import UserError

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"


def create(out: Path, suffix: bool) -> Path:
    """Make `out`; if it exists, refuse, or with `suffix` make out-2, out-3, ... instead."""
    candidate, n = out, 1
    while candidate.exists():
        if not suffix:
            raise UserError(
                f"run directory {out} already exists; choose another --out, or pass --suffix for a fresh {out.name}-N"
            )
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    try:
        candidate.mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"cannot create run directory {candidate}: {exc.strerror}") from None
    (candidate / "samples").mkdir()
    return candidate


def require_run(run_dir: Path) -> Path:
    """A run directory made by `gankit train`, or a one-line refusal."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a gankit run directory (no {CONFIG_FILE})")
    return run_dir


class MetricsLog:
    """Appends one JSON object per line; on resume, rows after the checkpoint are dropped."""

    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        self.path = run_dir / METRICS_FILE
        if resume_step is not None and self.path.exists():
            kept = [row for row in read_rows(self.path) if row.get("step", 0) <= resume_step]
            self.path.write_text("".join(json.dumps(row) + "\n" for row in kept))
        self._fh = open(self.path, "a")

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a kill mid-write
    return rows
