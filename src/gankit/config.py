"""Typed configuration: dataclasses, TOML presets, `--set key=value` overrides.

A run's config is a tree of dataclasses. A preset TOML gives some of its values,
`--set data.sigma=0.02` overrides one; an unknown key or a value of the wrong type
is refused with one line naming the key and what is allowed. The resolved config
is written into the run directory as config.toml, so a run is self-describing.

Three sections are shaped by the game rather than fixed here:
  [game]          `name` picks the game; the other keys are that game's own settings dataclass
                  (`GAMES.get(name).Settings`), so a key another game uses is refused, not ignored.
  [nets.PLAYER]   one table per player the game declares (G, D, E, F, ...); missing ones get the
                  game's default, and a table for a player the game does not have is refused.
  [optim.NAME]    one table per optimiser the game declares (G, D, EG, ...), likewise.
Allowed values are declared beside each field (`allowed(...)` metadata) and checked everywhere.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
import typing
from pathlib import Path
from typing import Any

import tomli_w

from gankit.config_schema import (Config, DataConfig, EvalConfig, GameConfig, NetConfig, NetsConfig, OptimConfig,
                                  OptimsConfig, TrainConfig, allowed, game_settings)
from gankit.errors import UserError
from gankit.registry import GAMES

__all__ = ["Config", "DataConfig", "EvalConfig", "GameConfig", "NetConfig", "NetsConfig", "OptimConfig",
           "OptimsConfig", "TrainConfig", "allowed", "build", "flatten", "load", "parse_overrides", "read_toml",
           "resolve_players", "to_dict", "validate", "write"]


# ------------------------------------------------------------------ reading values

def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _short(value: Any) -> str:
    """A value as an error line shows it: its repr, cut to 60 characters (a 2 MB string is not echoed)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _coerce(key: str, value: Any, typ: Any) -> Any:
    """Convert a TOML or command-line value to `typ`, or refuse with one line."""
    expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if typ is str and isinstance(value, str) and any(ord(ch) < 32 for ch in value):
        raise UserError(f"config key {key!r}: control characters (such as NUL or a newline) are not allowed")
    if isinstance(value, str) and typ is not str:
        text = value.strip()
        try:
            if typ is bool:
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                return text.lower() in ("true", "1")
            if typ is int:
                return int(text)
            if typ is float:
                return float(text)
        except ValueError:
            raise UserError(f"config key {key!r}: {_short(value)} is not {expected[typ]}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in expected and (not isinstance(value, typ) or (typ is int and isinstance(value, bool))):
        raise UserError(f"config key {key!r}: {_short(value)} is not {expected[typ]}")
    return value


def _children_field(obj: Any) -> dataclasses.Field | None:
    return next((f for f in dataclasses.fields(obj) if "children" in f.metadata), None)


def _apply(obj: Any, values: dict[str, Any], prefix: str) -> None:
    if isinstance(obj, GameConfig):
        values = dict(values)
        if "name" in values:
            name = _coerce(f"{prefix}name", values.pop("name"), str)
            if name != obj.name:
                obj.name, obj.settings = name, game_settings(name)
        try:
            _apply(obj.settings, values, prefix)
        except UserError as exc:
            raise UserError(f"{exc} (settings of game {obj.name!r})") from None
        return
    types_ = _field_types(type(obj))
    children = _children_field(obj)
    for name, value in values.items():
        key = f"{prefix}{name}"
        if name not in types_ or name == getattr(children, "name", None):
            if children is not None and isinstance(value, dict):  # a player's table, e.g. [nets.E]
                table = getattr(obj, children.name)
                child = table.get(name) or children.metadata["children"]()
                _apply(child, value, key + ".")
                table[name] = child
                continue
            known = [k for k in types_ if children is None or k != children.name]
            more = f" or a player's section ({prefix}<player>.<key>)" if children is not None else ""
            raise UserError(f"unknown config key {key!r}; known keys here: {', '.join(known) or 'none'}{more}")
        typ = types_[name]
        if dataclasses.is_dataclass(typ):
            if not isinstance(value, dict):
                raise UserError(f"config key {key!r} is a section; set {key}.<key>=value")
            _apply(getattr(obj, name), value, key + ".")
        else:
            if isinstance(value, dict):
                raise UserError(f"config key {key!r} is a value, not a section")
            setattr(obj, name, _coerce(key, value, typ))


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as the nested dict that TOML holds ([game] flat, players as sub-tables)."""
    if isinstance(cfg, GameConfig):
        return {"name": cfg.name, **to_dict(cfg.settings)}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if "children" in f.metadata:
            out.update({k: to_dict(v) for k, v in value.items()})
        elif dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        else:
            out[f.name] = value
    return out


def _leaves(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, Any, dataclasses.Field]]:
    """(key, value, field) for every leaf of a config tree, players' tables included."""
    if isinstance(obj, GameConfig):
        yield f"{prefix}name", obj.name, dataclasses.fields(obj)[0]
        yield from _leaves(obj.settings, prefix)
        return
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if "children" in f.metadata:
            for name, child in value.items():
                yield from _leaves(child, f"{prefix}{name}.")
        elif dataclasses.is_dataclass(value):
            yield from _leaves(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value, f


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """{"data.name": "ring8", "nets.G.width": 128, ...} for every leaf of the config tree."""
    return {key: value for key, value, _ in _leaves(cfg, prefix)}


def resolve_players(cfg: Config) -> None:
    """Give every player and optimiser the game declares a config section (the game's default when
    the preset has none), and refuse sections for players or optimisers the game does not have."""
    roles = GAMES.get(cfg.game.name).declare(cfg.game.settings)
    for section, table, wanted in (("nets", cfg.nets.players, {k: r.net for k, r in roles.players.items()}),
                                   ("optim", cfg.optim.players, {k: None for k in roles.optimizers})):
        extra = sorted(set(table) - set(wanted))
        if extra:
            raise UserError(f"config section {section}.{extra[0]} is for a player game {cfg.game.name!r} does not "
                            f"have; its {section} sections: {', '.join(wanted) or 'none'}")
        for name, default in wanted.items():
            if name not in table:
                table[name] = copy.deepcopy(default) if default is not None else OptimConfig()


def validate(cfg: Config) -> None:
    for key, value, f in _leaves(cfg):
        if isinstance(value, float) and not math.isfinite(value):  # nan/inf pass every comparison test
            raise UserError(f"config key {key!r}: {_short(value)} is not allowed; expected a finite number")
        check = f.metadata.get("check")
        if check and not check[0](value):
            raise UserError(f"config key {key!r}: {_short(value)} is not allowed; expected {check[1]}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:  # torch's int64
            raise UserError(f"config key {key!r}: {_short(value)} is not allowed; expected an integer below 2^63")
    # after the per-key checks: game.pack >= 1 is known here (pack = 0 divided by zero before)
    per_batch = cfg.train.batch_size // getattr(cfg.game.settings, "pack", 1)
    batch_norm = [name for name, net in cfg.nets.players.items() if net.norm == "batch"]
    if batch_norm and per_batch < 2:  # batch statistics of one example are undefined (torch raises mid-step)
        raise UserError(f"nets.{batch_norm[0]}.norm=batch needs at least 2 examples per batch; got train.batch_size="
                        f"{cfg.train.batch_size}; raise it or set nets.{batch_norm[0]}.norm=layer or none")


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """["a.b=1", "seed=3"] -> {"a": {"b": "1"}, "seed": "3"} (values typed later)."""
    tree: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {pair!r}")
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {key}: {part!r} is set twice as value and section")
        node[parts[-1]] = value
    return tree


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"config file {path} is a directory, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"config file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {path} is not valid TOML: {exc}") from None


def build(values: dict[str, Any], overrides: dict[str, Any] | None = None) -> Config:
    """A validated Config from preset values and overrides (both nested dicts)."""
    values = dict(values)
    values.pop("description", None)  # presets carry a one-line description
    cfg = Config()
    # The game first (an override wins over the preset): its settings dataclass decides which
    # [game] keys exist, so a preset key the chosen game does not use is refused, not ignored.
    sources = [copy.deepcopy(values), copy.deepcopy(overrides or {})]
    for source in sources:
        game = source.get("game")
        if isinstance(game, dict) and "name" in game:
            _apply(cfg.game, {"name": game.pop("name")}, "game.")
    for source in sources:
        game = source.pop("game", None)
        if game is not None:
            _apply(cfg, {"game": game}, "")
    # Then the players the game declares, with its defaults, so a partial [nets.P] table or a
    # --set nets.P.k=v changes only that key of the game's default (batch norm in G stays).
    resolve_players(cfg)
    for source in sources:
        _apply(cfg, source, "")
    resolve_players(cfg)
    validate(cfg)
    return cfg


def write(cfg: Config, path: Path) -> None:
    from gankit.files import atomic_write

    atomic_write(path, tomli_w.dumps(to_dict(cfg)).encode())


# [game] of run directories written before each game had its own settings: the union of every game's keys,
# with these defaults. Keys the run's game does not have were ignored by that run, so they are dropped.
_UNION_GAME_KEYS = ("loss", "conditional", "n_critic", "pack", "penalty", "penalty_weight", "penalty_every", "clip",
                    "instance_noise", "instance_noise_until", "blur", "scaling", "features")


def _migrate(values: dict[str, Any]) -> dict[str, Any]:
    """A run directory's config.toml from before per-game settings and player tables, read as what ran:
    [game] keys its game did not have are dropped (that run ignored them), then the game renames the
    player tables it once named otherwise (`migrate_config`, e.g. the Sinkhorn critic D -> F)."""
    game = values.get("game")
    if not isinstance(game, dict):
        return values
    name = str(game.get("name", "gan"))
    known = {f.name for f in dataclasses.fields(game_settings(name))}
    extra = set(game) - known - {"name"}
    values = copy.deepcopy(values)
    if extra and extra <= set(_UNION_GAME_KEYS):  # else: written by hand, and unknown keys are refused
        values["game"] = {k: v for k, v in game.items() if k not in extra}
    return GAMES.get(name).migrate_config(values, game)


def load(path: Path) -> Config:
    """The config of a run directory (config.toml), including ones written by earlier gankit versions."""
    values = read_toml(path)
    if not values:  # every run's config.toml is written whole: an empty one is damage, not "the defaults"
        raise UserError(f"config file {path} is empty; this run directory is damaged")
    return build(_migrate(values))
