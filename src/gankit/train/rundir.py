"""Run directories: created fresh, never overwritten; their files safe to read while they grow.

A run directory holds config.toml (the resolved config), metrics.jsonl, samples/,
checkpoints/, and at the end progress.gif, curves.png and scores.json.

metrics.jsonl is append-only: a reader never sees it shrink. A resumed run appends a marker row
{"resumed_at": STEP} and continues from the checkpoint at STEP; rows of the interrupted session
logged after STEP are superseded, and `read_rows` (every reader) drops them.

scores.json has one writer (`write_scores`) and one schema: {"schema": SCORES_SCHEMA, SECTION: {...}}
with one section per producer -- "train" (the end-of-training scores) and "evaluate" (`gankit
evaluate` with provenance) -- so neither replaces the other's figures. Written atomically.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from gankit.errors import UserError
from gankit.files import atomic_write, strict_json

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
SCORES_FILE = "scores.json"
SCORES_SCHEMA = "gankit-scores/1"
RESUME_KEY = "resumed_at"
LOCK_FILE = ".lock"  # names the one process that writes the run (training or resuming it)
SCORES_LOCK = ".scores.lock"  # held for the read-modify-write of scores.json (training's end, evaluate)


def create(out: Path, suffix: bool) -> Path:
    """Make `out`; if it exists, refuse, or with `suffix` make out-2, out-3, ... instead."""
    if os.path.islink(out) and not out.exists():
        raise UserError(f"--out {out} is a dangling symbolic link; remove it or choose another --out")
    if out.name in ("", ".", ".."):
        raise UserError(f"--out {out} names an existing directory, not a new run; give a new name such as runs/my-run")
    candidate, n = out, 1
    while candidate.exists():
        if not suffix:
            dead = (out / CONFIG_FILE).is_file() and not any((out / "checkpoints").glob("step-*.json"))
            why = " and holds no checkpoint (a run killed before its first one: remove it to reuse the name)" \
                if dead else ""
            raise UserError(f"run directory {out} already exists{why}; choose another --out, or pass --suffix for "
                            f"a fresh {out.name}-N")
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    try:
        candidate.mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"cannot create run directory {candidate}: {exc.strerror}") from None
    (candidate / "samples").mkdir()
    return candidate


class RunLock:
    """One writer per run directory: an exclusive OS lock (fcntl.flock) on the run directory itself, held
    while a process trains or resumes the run; RUN/.lock names the holder. A second writer is refused with
    one line naming it. The kernel drops the lock when its process dies (even by SIGKILL), so a stale
    lock is simply taken over; readers (sample, info, evaluate, a dashboard) take no lock. Taking the
    lock writes nothing: `announce()` writes the holder's name once the caller's checks have passed.
    With `name`, the lock is a file of that name instead (scores.json's read-modify-write)."""

    def __init__(self, run_dir: Path, name: str | None = None) -> None:
        self.run_dir, self.name = run_dir, name
        self.note = run_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, block: bool = False, announce: bool = True) -> RunLock:
        target = self.run_dir / self.name if self.name else self.run_dir
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644) if self.name else os.open(target, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            try:
                holder = self.note.read_text().strip() or "another process"
            except OSError:
                holder = "another process"
            raise UserError(f"run {self.run_dir} is being written by {holder}; wait until it ends (or stop it) "
                            "and try again") from None
        self._fd = fd
        if announce and not self.name:
            self.announce()
        return self

    def announce(self) -> None:
        """Write who holds the lock, for the message a second writer gets."""
        self.note.write_text(f"pid {os.getpid()} on host {socket.gethostname()}\n")

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def require_run(run_dir: Path) -> Path:
    """A run directory made by `gankit train`, or a one-line refusal."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a gankit run directory (no {CONFIG_FILE})")
    return run_dir


class MetricsLog:
    """Appends one JSON object per line; a resume appends a marker row instead of rewriting the file."""

    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        self.path = run_dir / METRICS_FILE
        self._fh = open(self.path, "a")
        size = self.path.stat().st_size
        if size:
            with open(self.path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":  # a row torn by a kill: end it, so the next row is whole
                    self._fh.write("\n")
        if resume_step is not None and size:
            self.write({RESUME_KEY: resume_step})

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(strict_json(row), allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl as the run's history: a resume marker drops the rows before it
    that were logged after the step it resumed from (they belong to a session that was cut short)."""
    rows: list[dict[str, Any]] = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill mid-write
            if not isinstance(row, dict):
                continue
            if RESUME_KEY in row:
                rows = [r for r in rows if r.get("step", 0) <= row[RESUME_KEY]]
                continue
            rows.append(row)
    return rows


def read_scores(run_dir: Path) -> dict[str, Any]:
    """scores.json as {section: {...}} ({} when there is none). Files from before the sections
    (one flat dict) are read as the section their producer would write now."""
    path = run_dir / SCORES_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a {type(data).__name__}, not a gankit scores object")
    if data.get("schema") == SCORES_SCHEMA:
        return {k: v for k, v in data.items() if k != "schema" and isinstance(v, dict)}
    return {"evaluate" if "provenance" in data else "train": data}


def write_scores(run_dir: Path, section: str, values: dict[str, Any]) -> Path:
    """Set one producer's section of RUN/scores.json, keeping the others; atomic, and serialised with
    any other producer (training's end and `gankit evaluate` may run at once)."""
    lock = RunLock(run_dir, SCORES_LOCK).acquire(block=True, announce=False)
    try:
        sections = read_scores(run_dir)
        sections[section] = values
        text = json.dumps(strict_json({"schema": SCORES_SCHEMA, **sections}), indent=2, allow_nan=False) + "\n"
        return atomic_write(run_dir / SCORES_FILE, text.encode())
    finally:
        lock.release()
