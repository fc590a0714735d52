"""Every registered game and loss passes the same contract on a tiny problem."""
from __future__ import annotations

import pytest
import torch

from gankit.data.base import BatchSampler
from gankit.registry import GAMES, LOSSES
from gankit.train.loop import Trainer, load_data
from tests.conftest import tiny_toy


@pytest.mark.parametrize("game_name", GAMES.names())
@pytest.mark.parametrize("conditional", [False, True])
def test_game_contract(game_name: str, conditional: bool, tmp_path) -> None:
    cfg = tiny_toy(**{"game.name": game_name, "game.conditional": str(conditional)})
    data = load_data(cfg)
    torch.manual_seed(0)
    game = GAMES.get(game_name)(cfg, data)
    sampler = BatchSampler(data, 16, seed=0)
    assert game.phases, "a game has at least one phase"
    for phase in game.phases:
        assert set(phase.optimizers) <= set(game.optimizers)
        assert set(phase.trains) <= set(game.players)
        for name, module in game.players.items():
            module.requires_grad_(name in phase.trains)
        loss, stats = game.loss(phase.name, sampler.sample())
        assert loss.ndim == 0 and torch.isfinite(loss)
        assert all(v.ndim == 0 and not v.requires_grad for v in stats.values())
        loss.backward()
        for name in phase.trains:  # the trained players get gradients, the frozen ones none
            assert any(p.grad is not None for p in game.players[name].parameters()), (phase.name, name)
        for name in set(game.players) - set(phase.trains):
            assert all(p.grad is None for p in game.players[name].parameters()), (phase.name, name)
        for module in game.players.values():
            module.zero_grad(set_to_none=True)
    inputs = game.fixed_inputs(7, torch.Generator().manual_seed(0))
    assert game.generate(game.players, inputs).shape == (7, *data.shape)


@pytest.mark.parametrize("loss_name", LOSSES.names())
def test_every_loss_trains_a_few_steps(loss_name: str, tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.loss": loss_name}), tmp_path)
    for _ in range(5):
        trainer.train_step()
    trainer.check_health()
    assert trainer.step == 5
