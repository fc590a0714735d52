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
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tomli_w

from gankit.errors import UserError
from gankit.registry import GAMES


def allowed(check: Callable[[Any], bool], what: str) -> dict[str, Any]:
    """Field metadata: the values a key accepts beyond its type, and how to say so."""
    return {"check": (check, what)}


def _is(*choices: str) -> dict[str, Any]:
    return allowed(lambda v: v in choices, ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1
                   else choices[0])


_POS_INT = allowed(lambda v: v >= 1, "an integer >= 1")
_NONNEG_INT = allowed(lambda v: v >= 0, "an integer >= 0")
_NONNEG = allowed(lambda v: v >= 0, "a number >= 0")
_UNIT = allowed(lambda v: 0 <= v < 1, "a number in [0, 1)")


@dataclass
class DataConfig:
    name: str = "ring8"  # registered dataset (gankit presets / `gankit info` list them)
    path: str = ""  # directory or file for file-based datasets ("" = the dataset's default)
    split: str = field(default="train", metadata=_is("train", "test"))  # train | test
    resolution: int = field(default=0, metadata=_NONNEG_INT)  # images: output side in pixels (0 = native)
    channels: int = field(default=0, metadata=allowed(lambda v: v in (0, 1, 3), "0 (native), 1 or 3"))
    limit: int = field(default=0, metadata=_NONNEG_INT)  # keep at most this many examples (0 = all)
    n_samples: int = field(default=50_000, metadata=_POS_INT)  # toy mixtures: size of the in-memory set
    sigma: float = field(default=0.0, metadata=_NONNEG)  # toy mixtures: std of each mode (0 = published value)
    scale: float = 0.0  # toy mixtures: ring radius / grid spacing / shape scale (0 = default)
    n_modes: int = 0  # toy mixtures: number of modes on the ring (0 = default)


@dataclass
class NetConfig:
    arch: str = "mlp"  # registered architecture: mlp | dcgan (the game says which kind of net: G, D, ...)
    width: int = field(default=256, metadata=_POS_INT)  # hidden units (mlp) or base channels (dcgan)
    depth: int = field(default=3, metadata=_POS_INT)  # hidden layers (mlp)
    norm: str = field(default="none", metadata=_is("none", "batch", "layer"))  # none | batch | layer
    spectral_norm: bool = False  # spectral normalisation of every weight (discriminators)
    init_from: str = ""  # "RUN_DIR[:player]": start from that run's weights (its EMA copy when it kept one)
    frozen: bool = False  # never trained: eval mode, no optimiser (with init_from: a fixed pretrained player)


@dataclass
class NetsConfig:
    z_dim: int = field(default=2, metadata=_POS_INT)  # dimension of the noise z
    z_dist: str = field(default="normal", metadata=_is("normal", "uniform"))  # N(0, I) | U[-1, 1]^z_dim (DCGAN)
    players: dict[str, NetConfig] = field(default_factory=dict, metadata={"children": NetConfig})

    def __getattr__(self, key: str) -> Any:  # cfg.nets.G reads the player's table (only when lookup fails)
        players = self.__dict__.get("players", {})
        if key in players:
            return players[key]
        raise AttributeError(f"no player section {key!r}; sections: {', '.join(players) or 'none'}")


@dataclass
class OptimConfig:
    name: str = field(default="adam", metadata=_is("adam", "rmsprop", "sgd"))
    lr: float = field(default=2e-4, metadata=allowed(lambda v: v > 0, "a number > 0"))  # DCGAN (Radford et al.)
    beta1: float = field(default=0.5, metadata=_UNIT)
    beta2: float = field(default=0.999, metadata=_UNIT)
    weight_decay: float = field(default=0.0, metadata=_NONNEG)


@dataclass
class OptimsConfig:
    players: dict[str, OptimConfig] = field(default_factory=dict, metadata={"children": OptimConfig})

    def __getattr__(self, key: str) -> Any:  # cfg.nets.G reads the player's table (only when lookup fails)
        players = self.__dict__.get("players", {})
        if key in players:
            return players[key]
        raise AttributeError(f"no player section {key!r}; sections: {', '.join(players) or 'none'}")


def game_settings(name: str) -> Any:
    """A fresh settings dataclass of the registered game `name`."""
    return GAMES.get(name).Settings()


@dataclass
class GameConfig:
    """[game]: `name` and the game's own settings (read as cfg.game.loss as well as cfg.game.settings.loss)."""

    name: str = "gan"  # registered game
    settings: Any = None  # GAMES.get(name).Settings(); flattened into [game] in TOML

    def __post_init__(self) -> None:
        if self.settings is None:
            self.settings = game_settings(self.name)

    def __getattr__(self, key: str) -> Any:  # only reached when normal lookup fails
        settings = self.__dict__.get("settings")
        if settings is not None and not key.startswith("_") and key in {f.name for f in dataclasses.fields(settings)}:
            return getattr(settings, key)
        raise AttributeError(f"game {self.__dict__.get('name')!r} has no setting {key!r}")


@dataclass
class TrainConfig:
    steps: int = field(default=5000, metadata=_NONNEG_INT)  # generator steps
    batch_size: int = field(default=256, metadata=_POS_INT)
    minutes: float = field(default=0.0, metadata=_NONNEG)  # stop after this many minutes of training (0 = no limit)
    lr_decay_start: float = field(default=1.0, metadata=allowed(lambda v: 0 <= v <= 1, "a number in [0, 1]"))
    ema: bool = True  # keep an exponential moving average of the game's generators, used for samples and scores
    ema_decay: float = field(default=0.999, metadata=_UNIT)
    log_every: int = field(default=100, metadata=_POS_INT)  # steps between metrics.jsonl rows
    sample_every: int = field(default=500, metadata=_NONNEG_INT)  # steps between sample pictures (0 = at the end)
    ckpt_every: int = field(default=1000, metadata=_NONNEG_INT)  # steps between checkpoints (0 = at the end)
    threads: int = field(default=0, metadata=_NONNEG_INT)  # torch threads (0 = leave torch's default)
    device: str = field(default="cpu", metadata=allowed(lambda v: re.fullmatch(r"cpu|auto|cuda(:\d+)?", v) is not None,
                                                        "cpu, cuda, cuda:N or auto"))  # cpu is bit-for-bit deterministic
    channels_last: bool = True  # memory format for conv nets on the CPU (1.13-1.17x there; a GPU keeps the default)
    progress: bool = True  # show a progress bar on stderr


@dataclass
class EvalConfig:
    n_samples: int = field(default=2500, metadata=_POS_INT)  # samples scored at the end (VEEGAN/PacGAN: 2,500)
    grid: int = field(default=64, metadata=_POS_INT)  # samples in a picture grid
    every: int = field(default=0, metadata=allowed(lambda v: v >= 0, "an integer >= 0 (0 = no evaluation during training)"))


@dataclass
class Config:
    seed: int = 0  # seeds every random source (init, data order, z)
    data: DataConfig = field(default_factory=DataConfig)
    nets: NetsConfig = field(default_factory=NetsConfig)
    optim: OptimsConfig = field(default_factory=OptimsConfig)
    game: GameConfig = field(default_factory=GameConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ------------------------------------------------------------------ reading values

def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(key: str, value: Any, typ: Any) -> Any:
    """Convert a TOML or command-line value to `typ`, or refuse with one line."""
    expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
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
            raise UserError(f"config key {key!r}: {value!r} is not {expected[typ]}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in expected and (not isinstance(value, typ) or (typ is int and isinstance(value, bool))):
        raise UserError(f"config key {key!r}: {value!r} is not {expected[typ]}")
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
        check = f.metadata.get("check")
        if check and not check[0](value):
            raise UserError(f"config key {key!r}: {value!r} is not allowed; expected {check[1]}")


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
        _apply(cfg, source, "")
    resolve_players(cfg)
    validate(cfg)
    return cfg


def write(cfg: Config, path: Path) -> None:
    from gankit.files import atomic_write

    atomic_write(path, tomli_w.dumps(to_dict(cfg)).encode())


def load(path: Path) -> Config:
    return build(read_toml(path))
