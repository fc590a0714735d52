"""What the dashboard knows about the runs under RUNS_DIR, read from their files only (never torch).

Reading is incremental and cached by file size and modification time, so that a page over 200 runs of
20,000 metric rows each stays fast: metrics.jsonl is parsed once, then only its new bytes are read as a
run grows. The rules of the files are the trainer's (gankit.train.rundir): metrics.jsonl is append-only,
a {"resumed_at": STEP} row drops the rows of the cut-short session after STEP, and a torn last line (a
kill mid-write) is skipped until it is whole.
"""
from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.live.status import read_status

try:  # orjson parses a run's history 2-3x faster than json (the dashboard extra installs it)
    from orjson import loads as _bulk_loads
except ImportError:  # pragma: no cover - the standard library does the same, slower
    _bulk_loads = json.loads

METRICS = "metrics.jsonl"
RESUME_KEY = "resumed_at"
TAIL = 64 * 1024  # bytes read from the end of metrics.jsonl for a run's latest row
MAX_DEPTH = 3
CACHED_RUNS = 32  # runs whose whole metrics stay parsed (a run page, a comparison); others are read again  # runs may be grouped in folders: RUNS_DIR/group/run
# The scores a runs list shows when a run has them (toy mixtures, images, translation), first found first.
HEADLINE = ("modes", "high_quality", "fid", "kid", "fcn_per_pixel", "recon_l2", "reverse_kl")


@dataclass
class _Metrics:
    """The numeric columns of one metrics.jsonl (NaN where a row lacks a key), and how far into the file
    they go. NumPy columns, not a list of dicts: 20,000 rows of ten keys take 1.6 MB, not 30."""
    offset: int = 0
    n: int = 0
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # "step" first
    generation: int = 0  # bumped when rows are dropped (a resume marker, a re-made file): clients re-read all

    def keys(self) -> list[str]:
        return list(self.columns)

    def truncate(self, n: int) -> None:
        self.columns = {k: v[:n] for k, v in self.columns.items()}
        self.n = n

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (each with a "step"): one pass per key, NumPy turning None and non-numbers into NaN."""
        if not rows:
            return
        for row in rows[:1] + rows[-1:] + rows[:: max(1, len(rows) // 50)]:  # keys appear early or late
            for k, v in row.items():
                if k not in self.columns and isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.columns[k] = np.full(self.n, np.nan)
        for k in self.columns:
            values = [r.get(k) for r in rows]
            try:
                new = np.array(values, dtype=float)
            except (TypeError, ValueError):  # a string or a list among the values: those rows get NaN
                new = np.array([v if isinstance(v, (int, float)) else None for v in values], dtype=float)
            self.columns[k] = np.concatenate([self.columns[k], new])
        self.n += len(rows)


def _append_rows(cache: _Metrics, chunk: bytes) -> int:
    """Parse whole lines of `chunk` into the cache; returns the bytes consumed (a torn tail stays).
    The lines are parsed as one JSON array when they are all whole (one C call, 2-8x faster than a
    json.loads per line); a bad line or a resume marker takes the line-by-line path."""
    end = chunk.rfind(b"\n") + 1
    body = chunk[:end].rstrip(b"\n")
    rows: list[Any] | None = None
    if body and RESUME_KEY.encode() not in body:
        try:
            rows = _bulk_loads(b"[" + body.replace(b"\n", b",") + b"]")
        except ValueError:
            rows = None
    if rows is None:
        rows = []
        for line in body.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a kill mid-write
    batch: list[dict[str, Any]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if RESUME_KEY in row:  # steps only grow within a session: the rows to keep are a prefix
            cache.extend(batch)
            batch = []
            keep = int(np.searchsorted(cache.columns.get("step", np.empty(0)), row[RESUME_KEY], side="right"))
            if keep != cache.n:
                cache.truncate(keep)
                cache.generation += 1
        elif "step" in row and "manual_phase" not in row:  # a phase run by hand is not a point of the curve
            batch.append(row)
    cache.extend(batch)
    return end


def _flat_scores(scores: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of scores.json ("evaluate" before "train"), one level of nesting followed."""
    out: dict[str, float] = {}
    sections = [scores.get("evaluate"), scores.get("train")] if scores.get("schema") else [scores]
    for section in sections:
        if not isinstance(section, dict):
            continue
        stack = [section]
        while stack and len(out) < len(HEADLINE):
            node = stack.pop(0)
            for k, v in node.items():
                if k in HEADLINE and k not in out and isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[k] = v
                elif k in HEADLINE and k not in out and isinstance(v, dict) and isinstance(v.get("value"), (int, float)):
                    out[k] = v["value"]
                elif isinstance(v, dict):
                    stack.append(v)
    return out


class RunsIndex:
    """Run directories under `root` and cached summaries of them; safe to share between request threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._metrics: OrderedDict[Path, _Metrics] = OrderedDict()  # the CACHED_RUNS most recently read
        self._small: dict[tuple[Path, str], tuple[tuple[int, int], Any]] = {}
        self._lock = threading.Lock()

    # ---- discovery -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Relative names of the run directories (those holding config.toml), sorted."""
        found: list[str] = []

        def walk(path: Path, depth: int) -> None:
            try:
                entries = list(os.scandir(path))
            except OSError:
                return
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                    continue  # links are not followed when listing: a link could lead out of RUNS_DIR
                sub = Path(entry.path)
                if (sub / "config.toml").is_file():
                    found.append(sub.relative_to(self.root).as_posix())
                elif depth < MAX_DEPTH:
                    walk(sub, depth + 1)

        walk(self.root, 1)
        return sorted(found)

    # ---- cached file reads -----------------------------------------------------------------------
    def _cached(self, path: Path, kind: str, parse: Any, tail: bool = False) -> Any:
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._small.get((path, kind))
            if hit and hit[0] == stamp:
                return hit[1]
        try:
            if tail:
                with path.open("rb") as fh:
                    fh.seek(max(0, st.st_size - TAIL))
                    value = parse(fh.read(TAIL))
            else:
                value = parse(path.read_bytes())
        except (OSError, ValueError, tomllib.TOMLDecodeError):
            value = None
        with self._lock:
            self._small[(path, kind)] = (stamp, value)
        return value

    def config(self, run: Path) -> dict[str, Any]:
        return self._cached(run / "config.toml", "config", lambda b: tomllib.loads(b.decode())) or {}

    def scores(self, run: Path) -> dict[str, Any]:
        value = self._cached(run / "scores.json", "scores", json.loads)
        return value if isinstance(value, dict) else {}

    def last_row(self, run: Path) -> dict[str, Any]:
        """The newest whole row of metrics.jsonl, from its last 64 KB only: the runs list reads 200 runs'
        files without parsing their histories."""
        def parse(tail: bytes) -> dict[str, Any]:
            for line in reversed(tail.splitlines()[1:] if len(tail) == TAIL else tail.splitlines()):
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and "step" in row:
                    return row
            return {}

        path = run / METRICS
        return self._cached(path, "tail", parse, tail=True) or {}

    def metrics(self, run: Path) -> _Metrics:
        """The run's rows so far (new bytes parsed on each call; a shrunk file is re-read whole)."""
        path = run / METRICS
        with self._lock:
            cache = self._metrics.setdefault(run, _Metrics())
            self._metrics.move_to_end(run)
            while len(self._metrics) > CACHED_RUNS:
                self._metrics.popitem(last=False)
            try:
                size = path.stat().st_size
            except OSError:
                return cache
            if size < cache.offset:  # replaced (a run dir removed and made again): start over
                cache = self._metrics[run] = _Metrics(generation=cache.generation + 1)
            if size > cache.offset:
                with path.open("rb") as fh:
                    fh.seek(cache.offset)
                    cache.offset += _append_rows(cache, fh.read(size - cache.offset))
            return cache

    # ---- summaries -------------------------------------------------------------------------------
    def summary(self, name: str, run: Path) -> dict[str, Any]:
        """One line of the runs list."""
        cfg = self.config(run)
        last = self.last_row(run)
        status = read_status(run)
        game = (cfg.get("game") or {}).get("name", "?")
        data = (cfg.get("data") or {}).get("name", "?")
        return {"name": name, "preset": cfg.get("preset") or f"{game} on {data}", "game": game, "data": data,
                "status": status.get("state", "stopped"), "step": last.get("step", status.get("step", 0)),
                "steps": (cfg.get("train") or {}).get("steps"), "elapsed_s": last.get("time"),
                "kind": "points" if (run / "live").is_dir() else "images",
                "scores": _flat_scores(self.scores(run)),
                "updated": max((p.stat().st_mtime for p in (run / METRICS, run / "config.toml") if p.exists()),
                               default=0.0)}

    def summaries(self) -> list[dict[str, Any]]:
        return [self.summary(n, self.root / n) for n in self.names()]
