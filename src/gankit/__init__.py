"""gankit: generative adversarial networks as games, trained on a laptop CPU.

Public API:
    Config, build_config      typed configuration
    train, resume             run a preset or config; continue a run
    GAMES, LOSSES, NETS, DATASETS, METRICS   registries of components by name
"""
from gankit import data, games, losses, metrics, nets  # noqa: F401  (registration)
from gankit.config import Config
from gankit.config import build as build_config
from gankit.errors import UserError
from gankit.registry import DATASETS, GAMES, LOSSES, METRICS, NETS
from gankit.train.session import resume, train_new as train

__version__ = "0.1.0"
__all__ = ["Config", "build_config", "train", "resume", "UserError",
           "GAMES", "LOSSES", "NETS", "DATASETS", "METRICS", "__version__"]
