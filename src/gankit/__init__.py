"""gankit: generative adversarial networks as games, trained on a laptop CPU.

Public API (imported on first use, so `import gankit` and `gankit --help` do not load torch):
    Config, build_config      typed configuration
    train, resume             run a preset or config; continue a run
    restore                   a run's game and players for sampling and evaluation
    GAMES, LOSSES, NETS, DATASETS, METRICS   registries of components by name (filled on first lookup)
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from gankit.errors import UserError
from gankit.registry import DATASETS, GAMES, LOSSES, METRICS, NETS

__version__ = "0.1.0"
__all__ = ["Config", "build_config", "train", "resume", "restore", "UserError",
           "GAMES", "LOSSES", "NETS", "DATASETS", "METRICS", "__version__"]

_LAZY = {"Config": ("gankit.config", "Config"), "build_config": ("gankit.config", "build"),
         "train": ("gankit.train.session", "train_new"), "resume": ("gankit.train.session", "resume"),
         "restore": ("gankit.train.restore", "restore")}


def __getattr__(name: str) -> Any:  # PEP 562: the heavy parts load when first asked for
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
