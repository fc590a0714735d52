"""Presets: TOML files shipped in gankit/presets/ (the repository's configs/ links there)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gankit.config import read_toml
from gankit.errors import UserError

PRESET_DIR = Path(__file__).parent / "presets"


def names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def describe(name: str) -> str:
    return str(read_toml(PRESET_DIR / f"{name}.toml").get("description", ""))


def resolve(preset_or_path: str) -> tuple[str, dict[str, Any]]:
    """(run name, values) for a preset name or a path to a TOML file."""
    path = Path(preset_or_path)
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a preset name (gankit presets) or a .toml file")
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise UserError(f"config file {path} " + ("is not a regular file" if path.exists() else "does not exist"))
        return path.stem, read_toml(path)
    if preset_or_path not in names():
        raise UserError(f"unknown preset {preset_or_path!r}; known: {', '.join(names())} (or a path to a .toml file)")
    return preset_or_path, read_toml(PRESET_DIR / f"{preset_or_path}.toml")
