"""Which files the dashboard may serve: run directories under RUNS_DIR, and a few kinds of file inside them.

A run is named by its path relative to RUNS_DIR ("bench/ring8-s0"). Every name from a request is checked
before it touches the disk: no absolute paths, no "..", no odd characters, and the resolved path (symbolic
links followed) must stay inside RUNS_DIR, so a link inside RUNS_DIR cannot lead out of it.
"""
from __future__ import annotations

import re
from pathlib import Path

# one path component: what run and file names are made of (no spaces, quotes, backslashes or control bytes)
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]{0,199}$")
CONFIG_FILE = "config.toml"

# Files of a run that pages show, by the first part of their relative path (a whole name, or a folder).
SERVED = {"samples", "live", "report.html", "progress.gif", "curves.png", "convergence.png", "config.toml",
          "scores.json", "tensorboard"}


class Refused(Exception):
    """A request names something outside what the dashboard serves (answered with 404, never a file)."""


def _parts(name: str, what: str, depth: int) -> list[str]:
    if not name or len(name) > 1000 or name.startswith("/") or "\\" in name:
        raise Refused(f"bad {what} name")
    parts = name.split("/")
    if len(parts) > depth or any(not _PART.match(p) or p in (".", "..") for p in parts):
        raise Refused(f"bad {what} name")
    return parts


def inside(root: Path, path: Path) -> bool:
    """True when `path`, with every symbolic link followed, lies inside `root` (itself resolved)."""
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):
        return False


def run_dir(root: Path, name: str) -> Path:
    """RUNS_DIR/name, when it is a run directory inside RUNS_DIR; Refused otherwise."""
    path = root.joinpath(*_parts(name, "run", 4))
    if not (inside(root, path) and path.is_dir() and inside(root, path / CONFIG_FILE)):
        raise Refused("no such run")
    return path


def run_file(root: Path, run: Path, rel: str) -> Path:
    """A file of a run that pages may show; Refused for anything else (and for links that leave RUNS_DIR)."""
    parts = _parts(rel, "file", 3)
    if parts[0] not in SERVED:
        raise Refused("not a file the dashboard serves")
    path = run.joinpath(*parts)
    if not (inside(root, path) and path.is_file()):
        raise Refused("no such file")
    return path
