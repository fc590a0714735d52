"""Drawing samples from a game's players without gradients, and how varied they are."""
from __future__ import annotations

import contextlib
from typing import Iterator, Mapping

import torch
from torch import Tensor, nn

from gankit.games.base import Game
from gankit.train import device as device_mod


@contextlib.contextmanager
def eval_mode(players: Mapping[str, nn.Module]) -> Iterator[None]:
    """Players in eval mode (gradients still on: the live view differentiates); previous modes restored."""
    modes = {name: m.training for name, m in players.items()}
    try:
        for m in players.values():
            m.eval()
        yield
    finally:
        for name, m in players.items():
            m.train(modes[name])


@contextlib.contextmanager
def evaluating(players: Mapping[str, nn.Module]) -> Iterator[None]:
    """Players in eval mode without gradients; their previous modes restored afterwards."""
    with eval_mode(players), torch.no_grad():
        yield


def generate(game: Game, players: Mapping[str, nn.Module], inputs: Mapping[str, Tensor],
             chunk: int = 1024) -> dict[str, Tensor]:
    """The game's named panels for `inputs` ("fake" is the sample), in chunks (bounded memory),
    drawn on the players' device and returned on the CPU as float32 contiguous tensors (pictures
    and metrics work there)."""
    n = len(next(iter(inputs.values())))
    device = device_mod.of_players(players.values())
    out: dict[str, list[Tensor]] = {}
    with evaluating(players):
        for i in range(0, n, chunk):
            part = {k: v[i : i + chunk].to(device) for k, v in inputs.items()}
            for name, panel in game.generate(players, part).items():
                out.setdefault(name, []).append(panel.float().cpu().contiguous())
    return {name: torch.cat(parts) for name, parts in out.items()}


def spread(x: Tensor) -> Tensor:
    """Mean over features of the per-feature standard deviation across the batch (N, ...) -> ()."""
    return x.flatten(1).float().std(dim=0, correction=0).mean()
