"""A light restore of a run for sampling and evaluation: the game and its players with their
newest checkpointed weights (EMA copies where kept), on the CPU, in eval mode -- no dataset,
no optimisers, no run state.

    r = restore(Path("runs/fashion-dcgan"))
    panels = generate(r.game, r.players, r.game.fixed_inputs(64, torch.Generator().manual_seed(0)))

A run trained on a GPU samples anywhere, and the same seed gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from gankit import config as config_mod
from gankit.config import Config
from gankit.data.base import DataSpec, spec_from_dict
from gankit.errors import UserError
from gankit.games.base import Game
from gankit.registry import GAMES
from gankit.train import checkpoint, rundir
from gankit.train import players as players_mod


@dataclass
class Restored:
    cfg: Config
    game: Game
    players: dict[str, nn.Module]  # the sampling players: EMA copies where the run kept them, eval mode
    step: int
    spec: DataSpec
    sampled_with: str  # e.g. "EMA of G"


def restore(run_dir: Path, players: Sequence[str] | None = None) -> Restored:
    """The run's game and the named players (all by default) from its newest good checkpoint."""
    rundir.require_run(run_dir)
    cfg = config_mod.load(run_dir / rundir.CONFIG_FILE)
    cfg.train.device = "cpu"
    state = checkpoint.load_latest(run_dir, game=cfg.game.name)
    if "data_spec" in state:
        spec = spec_from_dict(state["data_spec"])
    else:  # checkpoints written before the spec was recorded: read it off the dataset
        from gankit.train.loop import load_data

        spec = load_data(cfg).spec
    torch.manual_seed(cfg.seed)  # the players' throw-away initial weights, as in training
    game = GAMES.get(cfg.game.name)(cfg, spec)
    names = list(players) if players is not None else list(game.players)
    unknown = [n for n in names if n not in game.players]
    if unknown:
        raise UserError(f"{run_dir} has no player {unknown[0]!r}; its players: {', '.join(game.players)}")
    packaged = players_mod.packaged_players(cfg)
    emas = state.get("ema", {})
    conv = cfg.train.channels_last and spec["x"].kind in ("image", "paired_image")
    loaded: dict[str, nn.Module] = {}
    try:
        for name in names:
            module = game.players[name]
            if name in emas:
                module.load_state_dict(emas[name]["weights"])
            elif name not in packaged:
                module.load_state_dict(state["players"][name])
            if conv:  # as in training: the same layout gives the same bits in every picture and score
                module.to(memory_format=torch.channels_last)
            loaded[name] = module.eval().requires_grad_(False)
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"checkpoint of {run_dir} does not match its config: {str(exc).splitlines()[0]}") from None
    used = ", ".join(f"EMA of {n}" for n in names if n in emas) or "live weights (no EMA kept)"
    return Restored(cfg, game, loaded, int(state["step"]), spec, used)


def source_batch(cfg: Config, game: Game, n: int, split: str | None = None) -> dict[str, torch.Tensor] | None:
    """Real examples for a game whose inputs come from data (a translation's input images): the first
    n rows of its `source_fields` (cycled when the split is smaller), from `split` when the dataset has
    it (evaluation uses held-out data), else from the training data. None for games that need none."""
    if not game.source_fields:
        return None
    from dataclasses import replace

    from gankit.train.loop import load_data

    data = load_data(cfg)
    if split is not None and split != cfg.data.split:
        try:
            data = load_data(replace(cfg, data=replace(cfg.data, split=split)))
        except UserError:
            pass  # no such split: the training data it is
    return data.take(torch.arange(n) % len(data), game.source_fields)
