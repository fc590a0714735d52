"""Every registered game and loss passes the same contract on a tiny problem."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.data.base import BatchSampler
from gankit.errors import UserError
from gankit.games.base import backward
from gankit.registry import GAMES, LOSSES, PENALTIES
from gankit.train.loop import Trainer, load_data
from tests.conftest import tiny_toy, tiny_translation
from tests.contract_game import contract_cfg



_STAGE1: list[str] = []


def _stage1_run() -> str:
    """A tiny stage-I run (2 steps) that stage II can load, made once per test session."""
    import tempfile

    from gankit.cli import main

    if not _STAGE1:
        out = Path(tempfile.mkdtemp()) / "stage1"
        assert main(["train", "shapes-stackgan1", "--steps", "2", "--out", str(out), "--set", "data.n_samples=64",
                     "--set", "nets.z_dim=4", "--set", "nets.G.width=4", "--set", "nets.D.width=4",
                     "--set", "train.batch_size=8", "--set", "train.progress=false"]) == 0
        _STAGE1.append(f"{out}:G")
    return _STAGE1[0]


def stackgan_cfg(**overrides: str):
    """Stage II on 64-px shapes, on a tiny frozen stage-I G1."""
    from gankit import config as config_mod

    net = {"arch": "dcgan", "width": 4, "norm": "batch"}
    values = {"data": {"name": "shapes", "n_samples": 64, "resolution": 64},
              "nets": {"z_dim": 4, "G1": {**net, "frozen": True, "init_from": _stage1_run()},
                       "G2": {"arch": "stackgan", "width": 4, "norm": "batch"},
                       "D": net},
              "game": {"name": "stackgan"},
              "train": {"steps": 4, "batch_size": 8, "log_every": 2, "sample_every": 2, "ckpt_every": 2,
                        "progress": False}, "eval": {"grid": 4}}
    return config_mod.build(values, config_mod.parse_overrides([f"{k}={v}" for k, v in overrides.items()]))


OWN_CONFIG = {"contract-translate": contract_cfg, "stackgan": stackgan_cfg,  # games that need data of their own shape
              "pix2pix": lambda **o: tiny_translation("pix2pix", **o),
              "cyclegan": lambda **o: tiny_translation("cyclegan", **o)}


VARIANTS = {"ali": [{}, {"game.encoder": "deterministic"}, {"game.loss": "wgan", "game.penalty": "gp"}],
            "sinkhorn": [{}, {"game.features": "true"}], "gan": [{}, {"game.penalty": "r1", "game.penalty_every": "4"},
                                                                  {"game.instance_noise": "0.3"}]}


@pytest.mark.parametrize("game_name", GAMES.names())
@pytest.mark.parametrize("conditional", [False, True])
def test_game_contract(game_name: str, conditional: bool, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))  # drawn datasets: never the user's cache
    for variant in VARIANTS.get(game_name, [{}]):
        values = {"game.name": game_name, **variant}
        if conditional:
            values["game.conditional"] = "true"
        try:
            cfg = OWN_CONFIG.get(game_name, tiny_toy)(**values)
        except UserError as exc:  # a game without that setting refuses it by name (it would do nothing)
            assert conditional and "game.conditional" in str(exc)
            continue
        data = load_data(cfg)
        torch.manual_seed(0)
        try:
            game = GAMES.get(game_name)(cfg, data.spec)
        except UserError as exc:  # a game may refuse a setting it does not support, with a clear message
            assert conditional and "conditional" in str(exc)
            continue
        check_contract(game, data)


class Counting(torch.nn.Module):
    """A wrapper the loop might put around a player (DDP, compile): counts the calls made through it."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module, self.calls = module, 0

    def forward(self, *args, **kwargs):
        self.calls += 1
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)  # e.g. .features of a feature-map critic


def check_contract(game, data) -> None:
    """The protocol every game keeps, including: it reaches its players only through the mapping it is
    passed (so the loop may wrap them) -- every player with weights is called through its wrapper."""
    assert game.phases, "a game has at least one phase"
    sampler = BatchSampler(data, 16, seed=0)
    for phase in game.phases:
        wrapped = {name: Counting(m) for name, m in game.players.items()}  # fresh counts per phase
        assert set(phase.optimizers) <= set(game.optimizers)
        assert set(phase.trains) <= set(game.players)
        for name, module in game.players.items():
            module.requires_grad_(name in phase.trains)
        loss, stats = game.loss(phase.name, sampler.sample(), wrapped)
        losses = [loss] if isinstance(loss, torch.Tensor) else list(loss.values())  # or one per optimiser
        assert isinstance(loss, torch.Tensor) or set(loss) == set(phase.optimizers)
        assert all(part.ndim == 0 and torch.isfinite(part) for part in losses)
        assert all(v.ndim == 0 and not v.requires_grad for v in stats.values())
        optimizers = {name: torch.optim.SGD([p for n in game.optimizers[name].players
                                             for p in game.players[n].parameters()], lr=0.0)
                      for name in phase.optimizers}
        backward(loss, optimizers)
        for name in phase.trains:  # the trained players get gradients, the frozen ones none
            assert any(p.grad is not None for p in game.players[name].parameters()), (phase.name, name)
            assert wrapped[name].calls > 0, f"{phase.name}: {name} was not reached through the mapping passed in"
        for name in set(game.players) - set(phase.trains):
            assert all(p.grad is None for p in game.players[name].parameters()), (phase.name, name)
        for module in game.players.values():
            module.zero_grad(set_to_none=True)
    inputs = game.fixed_inputs(7, torch.Generator().manual_seed(0), source=data.take(torch.arange(7)))
    wrapped = {name: Counting(m) for name, m in game.players.items()}
    panels = game.generate(wrapped, inputs)
    assert any(w.calls for w in wrapped.values()), "generate reaches its players through the mapping"
    assert panels["fake"].shape == (7, *data.shape)
    assert all(len(p) == 7 for p in panels.values())
    state = game.state_dict()
    game.load_state_dict(state)  # a game's own state round-trips through a checkpoint


@pytest.mark.parametrize("loss_name", LOSSES.names())
def test_every_loss_trains_a_few_steps(loss_name: str, tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.loss": loss_name}), tmp_path)
    for _ in range(5):
        trainer.train_step()
    trainer.check_health()
    assert trainer.step == 5


@pytest.mark.parametrize("penalty", PENALTIES.names())
@pytest.mark.parametrize("loss_name", ["ns", "wgan"])
def test_every_penalty_trains_a_few_steps(penalty: str, loss_name: str, tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.loss": loss_name, "game.penalty": penalty}), tmp_path)
    for _ in range(5):
        trainer.train_step()
    trainer.check_health()
    assert "penalty" in trainer.meter.flush() or penalty == "none"


def test_weight_clipping_bounds_every_weight_of_d(tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.loss": "wgan", "game.clip": "0.01", "optim.D.lr": "0.1"}), tmp_path)
    trainer.train_step()
    d_max = max(p.abs().max().item() for p in trainer.players["D"].parameters())
    g_max = max(p.abs().max().item() for p in trainer.players["G"].parameters())
    assert d_max == pytest.approx(0.01) and g_max > 0.01  # D clamped, G untouched


def test_lazy_penalty_runs_every_k_steps_with_k_times_the_weight(tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.penalty": "r1", "game.penalty_every": "4", "game.penalty_weight": "2"}), tmp_path)
    names = [p.name for p in trainer.game.phases]
    assert names == ["D", "Dreg", "G"] and trainer.game.phases[1].every == 4 and trainer.game.lazy_weight == 8
    calls = []
    original = trainer.game.loss
    trainer.game.loss = lambda phase, batch, players: calls.append((trainer.step, phase)) or original(phase, batch,
                                                                                                       players)
    for _ in range(8):
        trainer.train_step()
    assert [s for s, p in calls if p == "Dreg"] == [0, 4]


def test_batch_norm_in_a_penalised_critic_is_refused(tmp_path) -> None:
    with pytest.raises(UserError, match="nets.D.norm"):
        Trainer(tiny_toy(**{"game.penalty": "gp", "nets.D.norm": "batch"}), tmp_path)


def test_uniform_prior_draws_from_the_square(tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"nets.z_dist": "uniform"}), tmp_path)
    z = trainer.game.fixed_inputs(1000, torch.Generator().manual_seed(0))["z"]
    assert z.min() >= -1 and z.max() <= 1 and z.std() == pytest.approx(1 / 3**0.5, rel=0.05)


def test_packing_makes_d_judge_groups_of_samples(tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.pack": "4"}), tmp_path)
    game = trainer.game
    D = trainer.players["D"]
    assert D.body[0].in_features == 8  # 4 points of 2 coordinates
    x = torch.randn(32, 2)
    assert game._judge(D, x, None).shape == (8,)
    # each verdict depends on exactly its own group of 4 consecutive samples
    x2 = x.clone()
    x2[5] += 1.0
    changed = (game._judge(D, x, None) != game._judge(D, x2, None)).nonzero().flatten().tolist()
    assert changed == [1]
    trainer.train_step()
    assert game.critic(trainer.players, x) is None


def test_packing_needs_a_batch_it_divides(tmp_path) -> None:
    with pytest.raises(UserError, match="multiple of game.pack"):
        Trainer(tiny_toy(**{"game.pack": "5"}), tmp_path)


def test_instance_noise_blurs_what_d_sees_and_decays_linearly_to_zero(tmp_path) -> None:
    trainer = Trainer(tiny_toy(**{"game.instance_noise": "0.5", "game.instance_noise_until": "0.5",
                                  "train.steps": "20"}), tmp_path)
    game, seen = trainer.game, []
    D = lambda v, y=None: seen.append(v) or v.sum(1)  # noqa: E731  (records what D is shown)
    x = torch.zeros(4000, 2)
    for step, expected_std in [(0, 0.5), (5, 0.25), (10, 0.0), (15, 0.0)]:
        game.begin_step(step)
        game._judge(D, x, None)
        assert seen[-1].std().item() == pytest.approx(expected_std, rel=0.05, abs=1e-9), step
    for _ in range(3):  # and training runs with it
        trainer.train_step()
    trainer.check_health()
