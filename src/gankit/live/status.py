"""RUN/status.json: is a run training now, and if not, how did its last session end?

The trainer writes it atomically (train/session.py):

    at the start of a session  {"state": "running", "pid": P, "host": H, "step": S, "started": T,
                                "control": bool, "paused": false}
    while paused (--control)   the same record with "paused": true and the step it holds at
    at the end of a session    {"state": "finished" | "stopped" | "diverged", "reason": R, "step": N, "ended": T}

    finished   reason "steps" (train.steps reached) or "time budget" (train.minutes spent)
    stopped    reason "interrupted" (Ctrl-C, SIGTERM), "error: TYPE: message" (an exception), or, as
               `read_status` reports it, "process gone" (killed: no end record was written)
    diverged   reason: the DivergenceError's message (a non-finite loss or weight, with its step)

Times are Unix seconds. `read_status` is for readers: a "running" record whose process is gone is
reported as stopped, and a run from before status.json is judged from its scores.json.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from gankit.errors import UserError
from gankit.live import read_json, write_json

STATUS_FILE = "status.json"
STATES = ("running", "finished", "stopped", "diverged")
# A process that started this much later than the record says is another process that got the same pid.
_PID_REUSE_SLACK_S = 5.0

__all__ = ["STATES", "STATUS_FILE", "read_status", "write_ended", "write_running"]


def write_running(run_dir: Path, step: int, control: bool = False, paused: bool = False,
                  started: float | None = None) -> dict[str, Any]:
    """Record that this process trains the run from `step` (or holds at it, paused)."""
    record = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "step": int(step),
              "started": round(started if started is not None else time.time(), 3), "control": control,
              "paused": paused}
    _write(run_dir, record)
    return record


def write_ended(run_dir: Path, state: str, reason: str, step: int) -> dict[str, Any]:
    """Record how the session ended: state "finished", "stopped" or "diverged", and why."""
    if state not in STATES[1:]:
        raise ValueError(f"an ended run's state is finished, stopped or diverged, not {state!r}")
    record = {"state": state, "reason": reason, "step": int(step), "ended": round(time.time(), 3)}
    _write(run_dir, record)
    return record


def _write(run_dir: Path, record: dict[str, Any]) -> None:
    try:
        write_json(run_dir / STATUS_FILE, record)
    except OSError as exc:  # a full disk, a file-size limit: one line, like every other file gankit writes
        raise UserError(f"cannot write {run_dir / STATUS_FILE}: {exc.strerror or exc}") from None


def read_status(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's state as a reader should show it (see the module docstring for the fields).

    A "running" record whose process is gone (same host, and no process with that pid, or one that
    started after the record) is reported as {"state": "stopped", "reason": "process gone", ...} with
    the record's pid, host and step. On another host the record is returned as written (its process
    cannot be checked from here), with "checked": false. A run directory without status.json (runs
    from before it) is "finished" when scores.json has a "train" section, else "stopped"; such
    records have "reason": "no status.json" and no step."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / STATUS_FILE)
    if not isinstance(record, dict) or record.get("state") not in STATES:
        scores = read_json(run_dir / "scores.json")
        finished = isinstance(scores, dict) and isinstance(scores.get("train"), dict)
        return {"state": "finished" if finished else "stopped", "reason": "no status.json"}
    if record["state"] != "running":
        return record
    if record.get("host") != socket.gethostname():
        return {**record, "checked": False}
    if _alive(record.get("pid"), record.get("started")):
        return record
    return {"state": "stopped", "reason": "process gone", "step": record.get("step"), "pid": record.get("pid"),
            "host": record.get("host"), "started": record.get("started")}


def _alive(pid: Any, started: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    began = _process_start(pid)
    return not (began is not None and isinstance(started, (int, float)) and began > started + _PID_REUSE_SLACK_S)


def _process_start(pid: int) -> float | None:
    """When process `pid` started (Unix time), from /proc on Linux; None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return None
