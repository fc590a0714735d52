"""Games, registered by name in `gankit.registry.GAMES`."""
from gankit.games import gan, sinkhorn  # noqa: F401  (registration)
from gankit.games.base import Batch, Game, OptimizerSpec, Phase, Stats

__all__ = ["Batch", "Game", "OptimizerSpec", "Phase", "Stats"]
