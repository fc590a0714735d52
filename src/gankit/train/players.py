"""Players beyond "train everything from scratch": frozen players, packaged pretrained players,
and players that start from another run's weights (`nets.PLAYER.init_from = "RUN_DIR[:player]"`).

    frozen     nets.PLAYER.frozen = true, or declared `packaged` by the game: never trained (no
               gradients, no optimiser may update it), always in eval mode (dropout off, batch-norm
               statistics fixed), skipped by the health check and by EMA.
    packaged   a pretrained net shipped in an installed package (a text encoder): frozen, and never
               written to a checkpoint; it is rebuilt from the package whenever the game is built.
    init_from  StackGAN's stage II starts from stage I's generator; fine-tuning starts from a run.
               The weights are the source run's EMA copy of that player when it kept one (what its
               samples were drawn with), else its live weights, from its newest good checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from torch import nn

from gankit.config import Config
from gankit.errors import UserError
from gankit.registry import GAMES


def packaged_players(cfg: Config) -> set[str]:
    roles = GAMES.get(cfg.game.name).declare(cfg.game.settings)
    return {name for name, decl in roles.players.items() if decl.packaged}


def frozen_players(cfg: Config) -> set[str]:
    return packaged_players(cfg) | {n for n, c in cfg.nets.players.items() if c.frozen}


def check_trainable(what: str, names: Iterable[str], frozen: set[str]) -> None:
    """Refuse an optimiser or phase that would train a frozen player (it would silently do nothing)."""
    bad = sorted(set(names) & frozen)
    if bad:
        raise UserError(f"player {bad[0]} is frozen (nets.{bad[0]}.frozen or a packaged net), but {what} trains it; "
                        f"set nets.{bad[0]}.frozen=false or use a game that keeps it fixed")


def parse_init_from(value: str, player: str) -> tuple[Path, str]:
    """'RUN_DIR' or 'RUN_DIR:player' -> (run directory, player name in that run)."""
    path, sep, name = value.rpartition(":")
    if not sep or "/" in name or not name:
        return Path(value).expanduser(), player
    return Path(path).expanduser(), name


def player_weights(run_dir: Path, player: str) -> tuple[dict[str, Any], str]:
    """(state dict, which copy) of `player` in the newest good checkpoint of `run_dir`."""
    from gankit.train import checkpoint, rundir

    rundir.require_run(run_dir)
    state = checkpoint.load_latest(run_dir)
    ema = state.get("ema", {}).get(player)
    if ema is not None:
        return ema["weights"], f"EMA of {player} at step {state['step']}"
    if player not in state.get("players", {}):
        have = ", ".join(state.get("players", {})) or "none"
        raise UserError(f"{run_dir} has no player {player!r} in its checkpoint; its players: {have}")
    return state["players"][player], f"{player} at step {state['step']}"


def absolute_init_from(cfg: Config) -> None:
    """Make every nets.*.init_from an absolute path (what a run's config.toml records)."""
    for name, net_cfg in cfg.nets.players.items():
        if net_cfg.init_from:
            run_dir, source = parse_init_from(net_cfg.init_from, name)
            net_cfg.init_from = f"{run_dir.resolve()}:{source}"


def init_players(cfg: Config, players: dict[str, nn.Module]) -> dict[str, str]:
    """Load every player whose config says init_from; returns {player: where its weights came from}."""
    loaded = {}
    for name, net_cfg in cfg.nets.players.items():
        if not net_cfg.init_from or name not in players:
            continue
        run_dir, source = parse_init_from(net_cfg.init_from, name)
        weights, what = player_weights(run_dir, source)
        try:
            players[name].load_state_dict(weights)
        except RuntimeError as exc:
            detail = " ".join(line.strip() for line in str(exc).splitlines()[1:3])[:300]
            raise UserError(f"nets.{name}.init_from={net_cfg.init_from}: the weights do not fit this {name} "
                            f"(its [nets.{name}] must match the source run's: {detail})") from None
        loaded[name] = f"{run_dir}: {what}"
    return loaded
