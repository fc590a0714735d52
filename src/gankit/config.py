"""Typed configuration: dataclasses, TOML presets, `--set key=value` overrides.

A run's config is a tree of dataclasses. A preset TOML gives some of its values,
`--set data.sigma=0.02` overrides one; an unknown key or a value of the wrong type
is refused with one line naming the key and what is allowed. The resolved config
is written into the run directory as config.toml, so a run is self-describing.
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from gankit.errors import UserError


@dataclass
class DataConfig:
    name: str = "ring8"  # registered dataset (gankit presets / `gankit info` list them)
    path: str = ""  # directory or file for file-based datasets ("" = the dataset's default)
    split: str = "train"  # train | test
    resolution: int = 0  # images: output side in pixels (0 = native)
    channels: int = 0  # images: 1 or 3 (0 = native)
    limit: int = 0  # keep at most this many examples (0 = all)
    n_samples: int = 50_000  # toy mixtures: size of the in-memory training set
    sigma: float = 0.0  # toy mixtures: std of each mode (0 = the dataset's published value)
    scale: float = 0.0  # toy mixtures: ring radius / grid spacing / shape scale (0 = default)
    n_modes: int = 0  # toy mixtures: number of modes on the ring (0 = default)


@dataclass
class NetConfig:
    arch: str = "mlp"  # registered net: mlp | dcgan
    width: int = 256  # hidden units (mlp) or base channels (dcgan)
    depth: int = 3  # hidden layers (mlp)
    norm: str = "none"  # none | batch | layer
    spectral_norm: bool = False  # spectral normalisation of every weight (discriminators)


@dataclass
class NetsConfig:
    z_dim: int = 2  # dimension of the noise z
    z_dist: str = "normal"  # prior of z: normal (N(0, I)) | uniform (U[-1, 1]^z_dim, as in DCGAN)
    G: NetConfig = field(default_factory=lambda: NetConfig(norm="batch"))
    D: NetConfig = field(default_factory=NetConfig)


@dataclass
class OptimConfig:
    name: str = "adam"  # adam | rmsprop | sgd
    lr: float = 2e-4  # DCGAN (Radford et al. 2016)
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0


@dataclass
class OptimsConfig:
    G: OptimConfig = field(default_factory=OptimConfig)
    D: OptimConfig = field(default_factory=OptimConfig)


@dataclass
class GameConfig:
    name: str = "gan"  # registered game
    loss: str = "ns"  # registered adversarial loss: ns (non-saturating) | minimax | ...
    conditional: bool = False  # condition G and D on class labels
    n_critic: int = 1  # discriminator steps per generator step
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges `pack` samples at once, all real or all fake
    penalty: str = "none"  # regulariser of D: none | gp | gp-one-sided | dragan | r1 (losses/penalties.py)
    penalty_weight: float = 10.0  # lambda of gp/dragan, gamma of r1 (D loss + weight * penalty)
    penalty_every: int = 1  # > 1: lazy regularisation, the penalty as its own phase every k steps, times k
    clip: float = 0.0  # > 0: clamp D's weights to [-clip, clip] after each D step (WGAN)
    instance_noise: float = 0.0  # std of Gaussian noise added to every input of D, real and fake (0 = none)
    instance_noise_until: float = 0.5  # fraction of train.steps at which that noise has decayed linearly to 0
    blur: float = 0.05  # sinkhorn game: GeomLoss blur, epsilon = blur^2 for the cost |x - y|^2 / 2
    scaling: float = 0.9  # sinkhorn game: epsilon-scaling ratio (closer to 1 = more exact, slower)
    features: bool = False  # sinkhorn game: compare samples in a learned feature map (an adversarial critic)


@dataclass
class TrainConfig:
    steps: int = 5000  # generator steps
    batch_size: int = 256
    minutes: float = 0.0  # stop after this many minutes of training (0 = no limit)
    lr_decay_start: float = 1.0  # fraction of steps after which every lr decays linearly to 0 (1 = constant lr)
    ema: bool = True  # keep an exponential moving average of G, used for samples and scores
    ema_decay: float = 0.999
    log_every: int = 100  # steps between metrics.jsonl rows
    sample_every: int = 500  # steps between sample pictures (0 = only at the end)
    ckpt_every: int = 1000  # steps between checkpoints (0 = only at the end)
    threads: int = 0  # torch threads (0 = leave torch's default)
    device: str = "cpu"  # cpu | cuda | cuda:N | auto (a CUDA GPU when one is visible); cpu is bit-for-bit deterministic
    channels_last: bool = True  # memory format for conv nets on the CPU (1.13-1.17x there; a GPU keeps the default)
    progress: bool = True  # show a progress bar on stderr


@dataclass
class EvalConfig:
    n_samples: int = 2500  # samples scored at the end (2,500 is the VEEGAN/PacGAN protocol)
    grid: int = 64  # samples in a picture grid
    every: int = 0  # steps between cheap scores during training (eval_* in metrics.jsonl; 0 = never)


@dataclass
class Config:
    seed: int = 0  # seeds every random source (init, data order, z)
    data: DataConfig = field(default_factory=DataConfig)
    nets: NetsConfig = field(default_factory=NetsConfig)
    optim: OptimsConfig = field(default_factory=OptimsConfig)
    game: GameConfig = field(default_factory=GameConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# Values checked beyond their type: key -> (predicate, what is allowed).
_CHECKS: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "data.split": (lambda v: v in ("train", "test"), "train or test"),
    "data.channels": (lambda v: v in (0, 1, 3), "0 (native), 1 or 3"),
    "data.resolution": (lambda v: v >= 0, "an integer >= 0"),
    "data.limit": (lambda v: v >= 0, "an integer >= 0"),
    "data.n_samples": (lambda v: v > 0, "an integer > 0"),
    "data.sigma": (lambda v: v >= 0, "a number >= 0"),
    "nets.z_dim": (lambda v: v > 0, "an integer > 0"),
    "nets.z_dist": (lambda v: v in ("normal", "uniform"), "normal or uniform"),
    "game.n_critic": (lambda v: v >= 1, "an integer >= 1"),
    "game.pack": (lambda v: v >= 1, "an integer >= 1 (1 = no packing)"),
    "game.penalty_weight": (lambda v: v >= 0, "a number >= 0"),
    "game.penalty_every": (lambda v: v >= 1, "an integer >= 1"),
    "game.clip": (lambda v: v >= 0, "a number >= 0 (0 = no clipping)"),
    "game.instance_noise": (lambda v: v >= 0, "a number >= 0 (0 = no instance noise)"),
    "game.instance_noise_until": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "game.blur": (lambda v: v > 0, "a number > 0"),
    "game.scaling": (lambda v: 0 < v < 1, "a number in (0, 1)"),
    "train.steps": (lambda v: v >= 0, "an integer >= 0"),
    "train.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "train.minutes": (lambda v: v >= 0, "a number >= 0"),
    "train.lr_decay_start": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "train.ema_decay": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "train.log_every": (lambda v: v >= 1, "an integer >= 1"),
    "train.sample_every": (lambda v: v >= 0, "an integer >= 0"),
    "train.ckpt_every": (lambda v: v >= 0, "an integer >= 0"),
    "train.threads": (lambda v: v >= 0, "an integer >= 0"),
    "train.device": (lambda v: re.fullmatch(r"cpu|auto|cuda(:\d+)?", v) is not None, "cpu, cuda, cuda:N or auto"),
    "eval.n_samples": (lambda v: v >= 1, "an integer >= 1"),
    "eval.grid": (lambda v: v >= 1, "an integer >= 1"),
    "eval.every": (lambda v: v >= 0, "an integer >= 0 (0 = no evaluation during training)"),
}
for _p in ("G", "D"):
    _CHECKS[f"optim.{_p}.lr"] = (lambda v: v > 0, "a number > 0")
    _CHECKS[f"optim.{_p}.beta1"] = (lambda v: 0 <= v < 1, "a number in [0, 1)")
    _CHECKS[f"optim.{_p}.beta2"] = (lambda v: 0 <= v < 1, "a number in [0, 1)")
    _CHECKS[f"optim.{_p}.weight_decay"] = (lambda v: v >= 0, "a number >= 0")
    _CHECKS[f"nets.{_p}.width"] = (lambda v: v >= 1, "an integer >= 1")
    _CHECKS[f"nets.{_p}.depth"] = (lambda v: v >= 1, "an integer >= 1")
    _CHECKS[f"nets.{_p}.norm"] = (lambda v: v in ("none", "batch", "layer"), "none, batch or layer")


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


def _apply(obj: Any, values: dict[str, Any], prefix: str) -> None:
    types_ = _field_types(type(obj))
    for name, value in values.items():
        key = f"{prefix}{name}"
        if name not in types_:
            raise UserError(
                f"unknown config key {key!r}; known keys here: {', '.join(types_)}"
            )
        typ = types_[name]
        if dataclasses.is_dataclass(typ):
            if not isinstance(value, dict):
                raise UserError(f"config key {key!r} is a section; set {key}.<key>=value")
            _apply(getattr(obj, name), value, key + ".")
        else:
            if isinstance(value, dict):
                raise UserError(f"config key {key!r} is a value, not a section")
            setattr(obj, name, _coerce(key, value, typ))


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """{"data.name": "ring8", ...} for every leaf of the config tree."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def validate(cfg: Config) -> None:
    for key, value in flatten(cfg).items():
        check = _CHECKS.get(key)
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
    _apply(cfg, values, "")
    if overrides:
        _apply(cfg, overrides, "")
    validate(cfg)
    return cfg


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def write(cfg: Config, path: Path) -> None:
    path.write_text(tomli_w.dumps(to_dict(cfg)))


def load(path: Path) -> Config:
    return build(read_toml(path))


