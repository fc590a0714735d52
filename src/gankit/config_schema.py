"""The configuration schema: one dataclass per section, with the values each key allows.

`gankit.config` reads, overrides, validates and writes these; see its docstring for the sections
that the game shapes ([game] settings, [nets.PLAYER], [optim.NAME]).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable

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
    resolution: int = field(default=0, metadata=allowed(lambda v: 0 <= v <= 1024, "an integer in [0, 1024]"))  # 0 = native
    channels: int = field(default=0, metadata=allowed(lambda v: v in (0, 1, 3), "0 (native), 1 or 3"))
    limit: int = field(default=0, metadata=_NONNEG_INT)  # keep at most this many examples (0 = all)
    n_samples: int = field(default=50_000, metadata=allowed(lambda v: 1 <= v <= 100_000_000,
                                                            "an integer in [1, 100000000]"))  # toy, shapes: set size
    sigma: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000]"))  # toy: 0 = published
    scale: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"))  # toy: 0 = default
    n_modes: int = field(default=0, metadata=allowed(lambda v: 0 <= v <= 10_000, "an integer in [0, 10000]"))  # toy: 0 = default
    objects: int = field(default=1, metadata=allowed(lambda v: v in (1, 2), "1 or 2"))  # shapes: objects per image
    text_encoder: str = field(default="", metadata=_is("", "minilm"))  # captions as word ids ("") or minilm vectors
    paired: bool = True  # translation data: train on (A, B) pairs (pix2pix) or on two unpaired collections (CycleGAN)
    direction: str = field(default="AtoB", metadata=_is("AtoB", "BtoA"))  # translation data: which side is the input
    # folder: decoded images in RAM (memory), or decoded once into a disk cache under $GANKIT_CACHE/folders and
    # memory-mapped, batches reading only their rows (memmap); auto maps when they would fill 1/4 of the free RAM
    cache: str = field(default="auto", metadata=_is("auto", "memory", "memmap"))


@dataclass
class NetConfig:
    arch: str = "mlp"  # registered architecture: mlp | dcgan (the game says which kind of net: G, D, ...)
    width: int = field(default=256, metadata=allowed(lambda v: 1 <= v <= 1_000_000, "an integer in [1, 1000000]"))  # units
    depth: int = field(default=3, metadata=allowed(lambda v: 1 <= v <= 1000, "an integer in [1, 1000]"))  # mlp layers
    norm: str = field(default="none", metadata=_is("none", "batch", "layer", "instance"))  # none | batch | layer | instance
    spectral_norm: bool = False  # spectral normalisation of every weight (discriminators)
    init_from: str = ""  # "RUN_DIR[:player]": start from that run's weights (its EMA copy when it kept one)
    frozen: bool = False  # never trained: eval mode, no optimiser (with init_from: a fixed pretrained player)
    # dropout rate: unet, in its 3 innermost decoder blocks (pix2pix 0.5, CycleGAN 0); joint D, every layer (ALI 0.2)
    dropout: float = field(default=0.5, metadata=allowed(lambda v: 0.0 <= v < 1.0, "a number in [0, 1)"))


class _PlayerTables:
    """cfg.nets.G / cfg.optim.D read and replace a player's table in `players`."""

    def __getattr__(self, key: str) -> Any:  # only reached when normal lookup fails
        players = self.__dict__.get("players", {})
        if key in players:
            return players[key]
        raise AttributeError(f"no player section {key!r}; sections: {', '.join(players) or 'none'}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            object.__setattr__(self, key, value)
        else:  # cfg.nets.G = NetConfig(...): the player's table, not a stray attribute nothing reads
            self.__dict__["players"][key] = value


@dataclass
class NetsConfig(_PlayerTables):
    z_dim: int = field(default=2, metadata=allowed(lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"))  # of z
    z_dist: str = field(default="normal", metadata=_is("normal", "uniform"))  # N(0, I) | U[-1, 1]^z_dim (DCGAN)
    players: dict[str, NetConfig] = field(default_factory=dict, metadata={"children": NetConfig})


@dataclass
class OptimConfig:
    name: str = field(default="adam", metadata=_is("adam", "rmsprop", "sgd"))
    lr: float = field(default=2e-4, metadata=allowed(lambda v: 0 < v <= 10, "a number in (0, 10]"))  # DCGAN: 2e-4
    beta1: float = field(default=0.5, metadata=_UNIT)
    beta2: float = field(default=0.999, metadata=_UNIT)
    weight_decay: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1, "a number in [0, 1]"))


@dataclass
class OptimsConfig(_PlayerTables):
    players: dict[str, OptimConfig] = field(default_factory=dict, metadata={"children": OptimConfig})


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

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("name", "settings"):
            object.__setattr__(self, key, value)
        elif key in {f.name for f in dataclasses.fields(self.settings)}:
            setattr(self.settings, key, value)  # cfg.game.n_critic = 5 sets what the game reads
        else:
            raise AttributeError(f"game {self.name!r} has no setting {key!r}")


@dataclass
class TrainConfig:
    steps: int = field(default=5000, metadata=_NONNEG_INT)  # generator steps
    batch_size: int = field(default=256, metadata=allowed(lambda v: 1 <= v <= 10**9, "an integer in [1, 1e9]"))
    minutes: float = field(default=0.0, metadata=_NONNEG)  # stop after this many minutes of training (0 = no limit)
    # what train.minutes counts: wall-clock time, or this process's CPU time (CPU-minutes: a budget that other
    # programs on the machine cannot shrink; with train.threads=1 one CPU-minute is one minute of one core)
    clock: str = field(default="wall", metadata=_is("wall", "cpu"))
    lr_decay_start: float = field(default=1.0, metadata=allowed(lambda v: 0 <= v <= 1, "a number in [0, 1]"))
    ema: bool = True  # keep an exponential moving average of the game's generators, used for samples and scores
    ema_decay: float = field(default=0.999, metadata=_UNIT)
    log_every: int = field(default=100, metadata=_POS_INT)  # steps between metrics.jsonl rows
    sample_every: int = field(default=500, metadata=_NONNEG_INT)  # steps between sample pictures (0 = at the end)
    ckpt_every: int = field(default=1000, metadata=_NONNEG_INT)  # steps between checkpoints (0 = at the end)
    threads: int = field(default=0, metadata=allowed(lambda v: 0 <= v <= 1024, "an integer in [0, 1024]"))  # 0 = torch's
    device: str = field(default="cpu", metadata=allowed(lambda v: re.fullmatch(r"cpu|auto|cuda(:\d+)?", v) is not None,
                                                        "cpu, cuda, cuda:N or auto"))  # cpu is bit-for-bit deterministic
    channels_last: bool = True  # memory format for conv nets on the CPU (1.13-1.17x there; a GPU keeps the default)
    progress: bool = True  # show a progress bar on stderr
    # GPU speed (train/speed.py): compile the players (reduce-overhead: CUDA graphs on a GPU, where small nets are
    # bound by kernel launches) and run the forward passes under bf16 autocast. Off by default: neither paid on
    # this project's CPUs (BENCHMARKS.md), and fp32 without compilation is the bit-for-bit deterministic path
    compile: str = field(default="off", metadata=_is("off", "default", "reduce-overhead", "max-autotune"))
    precision: str = field(default="fp32", metadata=_is("fp32", "bf16"))
    # steps between live 2D snapshots in RUN/live/ (D's surface, G's warp, the pull on fakes) for `gankit
    # dashboard`; 0 = none. Point data only: image runs write none. A snapshot costs about one ring8-gan step
    # (2.6 ring8-sinkhorn steps): every 200 steps, 0.5% (1.3%) of training time (benchmarks/live2d_cost.py)
    live_every: int = field(default=200, metadata=_NONNEG_INT)
    tensorboard: bool = False  # also log scalars and sample pictures for TensorBoard in RUN/tensorboard/
    # on a non-finite loss or weight: stop (one line naming step and phase, exit 2), or roll back to the last good
    # checkpoint with the learning rates halved, at most 3 times, then stop (train/rollback.py)
    on_nan: str = field(default="stop", metadata=_is("stop", "rollback"))


@dataclass
class EvalConfig:
    n_samples: int = field(default=2500, metadata=allowed(lambda v: 1 <= v <= 1_000_000, "an integer in [1, 1000000]"))
    grid: int = field(default=64, metadata=allowed(lambda v: 1 <= v <= 10_000, "an integer in [1, 10000]"))  # per picture
    every: int = field(default=0, metadata=allowed(lambda v: v >= 0, "an integer >= 0 (0 = no evaluation during training)"))


@dataclass
class Config:
    seed: int = field(default=0, metadata=allowed(lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)"))  # every RNG
    preset: str = ""  # what the run was made from: a preset's name or a TOML file's stem (set by gankit train)
    data: DataConfig = field(default_factory=DataConfig)
    nets: NetsConfig = field(default_factory=NetsConfig)
    optim: OptimsConfig = field(default_factory=OptimsConfig)
    game: GameConfig = field(default_factory=GameConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
