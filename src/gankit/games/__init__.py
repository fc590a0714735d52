"""Games, registered by name in `gankit.registry.GAMES`."""
from gankit.games import ali, cyclegan, gan, pix2pix, sinkhorn, stackgan  # noqa: F401  (registration)
from gankit.games.base import (BaseGame, Batch, Game, OptimizerSpec, Panels, Phase, PlayerDecl, Players, Roles, Stats,
                               build_players, optimizer_specs)

__all__ = ["BaseGame", "Batch", "Game", "OptimizerSpec", "Panels", "Phase", "PlayerDecl", "Players", "Roles", "Stats",
           "build_players", "optimizer_specs"]
