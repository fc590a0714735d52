"""Opt-in remote control of a training session: pause, resume, and step one phase by hand.

Files in the run directory (all written atomically):

    control.token      sha256 hex of the session's secret token, mode 0600 (the token itself is printed
                       once by the trainer and never stored); present only while a session with
                       control runs
    control.info.json  {"phases": ["D", "G"], "pid": P}: the game's phase names, one Step button each
    control.json       the newest command: {"seq": n, "command": "pause" | "resume" | "step",
                       "phase": NAME | null, "written": T, "mac": HMAC-SHA256(token, "seq\\ncommand\\nphase")}

Who may command: `write_command` checks the token against control.token (constant-time), and signs the
command with the token itself. The trainer, which holds the token in memory, checks the signature and
that seq increases, and ignores (with a warning) a control.json anyone else wrote: write access to the
run directory alone cannot forge or replay a command, and reading control.json reveals nothing reusable.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

from gankit.errors import UserError
from gankit.live import read_json, write_json

TOKEN_FILE = "control.token"
INFO_FILE = "control.info.json"
COMMAND_FILE = "control.json"
_LOCK_FILE = ".control.lock"  # serialises writers' read-modify-write of seq
COMMANDS = ("pause", "resume", "step")

__all__ = ["COMMANDS", "COMMAND_FILE", "INFO_FILE", "TOKEN_FILE", "BadCommand", "command_mac", "new_token", "phases",
           "read_command", "remove", "write_command"]


class BadCommand(UserError, ValueError):
    """An unknown command or phase: one line for a person (UserError), a ValueError for a web handler."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def command_mac(token: str, seq: int, command: str, phase: str | None) -> str:
    """The signature of one command: HMAC-SHA256 keyed by the token."""
    return hmac.new(token.encode(), f"{seq}\n{command}\n{phase or ''}".encode(), hashlib.sha256).hexdigest()


def new_token(run_dir: Path, phase_names: list[str]) -> str:
    """Trainer side: a fresh random token for this session; stores only its hash (mode 0600) and the
    phase names, and drops any command left by an earlier session. Returns the token (to print once)."""
    token = secrets.token_urlsafe(24)
    (run_dir / COMMAND_FILE).unlink(missing_ok=True)
    write_json(run_dir / INFO_FILE, {"phases": list(phase_names), "pid": os.getpid()})
    (run_dir / TOKEN_FILE).unlink(missing_ok=True)  # a new file, so mode 0600 is not inherited from an old one
    fd = os.open(run_dir / TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(_digest(token) + "\n")
    return token


def remove(run_dir: Path) -> None:
    """Trainer side: the session no longer listens (it ended, or runs without control): commands are refused."""
    for name in (TOKEN_FILE, COMMAND_FILE, INFO_FILE):
        (run_dir / name).unlink(missing_ok=True)


def phases(run_dir: str | os.PathLike[str]) -> list[str]:
    """The phase names a "step" command may name ([] when the run is not under control now)."""
    run_dir = Path(run_dir)
    info = read_json(run_dir / INFO_FILE)
    if not (run_dir / TOKEN_FILE).exists() or not isinstance(info, dict):
        return []
    return [str(p) for p in info.get("phases", [])]


def read_command(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The newest command as written (None when there is none or it cannot be read)."""
    value = read_json(Path(run_dir) / COMMAND_FILE)
    return value if isinstance(value, dict) else None


def write_command(run_dir: str | os.PathLike[str], token: str, command: str, phase: str | None = None) -> dict[str, Any]:
    """Send `command` ("pause", "resume", or "step" with a phase name) to the run's training session.

    Raises PermissionError when the run is not under control (no session with --control runs) or the
    token is wrong, and BadCommand (a UserError and a ValueError, one line) for an unknown command or
    phase. Returns the record written."""
    run_dir = Path(run_dir)
    try:
        stored = (run_dir / TOKEN_FILE).read_text().strip()
    except OSError:
        raise PermissionError(f"run {run_dir} takes no commands: no session started with --control is "
                              "training it") from None
    if not isinstance(token, str) or not hmac.compare_digest(_digest(token), stored):
        raise PermissionError("wrong control token (the trainer printed it when it started)")
    if command not in COMMANDS:
        raise BadCommand(f"unknown control command {command!r}; known: {', '.join(COMMANDS)}")
    if command == "step":
        names = phases(run_dir)
        if phase not in names:
            raise BadCommand(f"step needs the phase to run, one of {', '.join(names)}; got {phase!r}")
    elif phase is not None:
        raise BadCommand(f"{command} takes no phase (only step does)")
    fd = os.open(run_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        previous = read_command(run_dir) or {}
        seq = int(previous.get("seq", 0)) + 1 if isinstance(previous.get("seq", 0), int) else 1
        record = {"seq": seq, "command": command, "phase": phase, "written": round(time.time(), 3),
                  "mac": command_mac(token, seq, command, phase)}
        write_json(run_dir / COMMAND_FILE, record, mode=0o600)
    finally:
        os.close(fd)  # closing drops the lock
    return record
