"""ALI / BiGAN: the encoder and joint-discriminator nets, the game's losses, exact resume, refusals."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.games.base import backward
from gankit.nets.base import ConditionSpec, NetSpec, build_net
from gankit.registry import LOSSES
from gankit.train import checkpoint, session
from gankit.train.loop import Trainer
from tests.conftest import tiny_images, tiny_toy


def ali_toy(**overrides: str):
    return tiny_toy(**{"game.name": "ali", **overrides})


def ali_images(**overrides: str):
    return tiny_images(**{"game.name": "ali", "nets.D.norm": "none", **overrides})


@pytest.mark.parametrize("arch, shape", [("mlp", (2,)), ("dcgan", (1, 8, 8)), ("dcgan", (3, 32, 32))])
def test_encoder_and_joint_shapes(arch: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    cfg = NetConfig(arch=arch, width=8, depth=2, norm="none", dropout=0.2)
    E = build_net(cfg, "encoder", NetSpec(shape, (10,)))
    D = build_net(cfg, "joint", NetSpec(shape, (), ConditionSpec("latent", 5)))
    x, z = torch.randn(4, *shape), torch.randn(4, 5)
    assert E(x).shape == (4, 10)
    assert D(x, z).shape == (4,)
    assert sum(isinstance(m, nn.Dropout) for m in D.modules()) >= 3  # ALI: dropout in the x, z and joint parts
    D.eval()
    assert torch.equal(D(x, z), D(x, z))
    z2 = z.clone()
    z2[1] += 1
    assert (D(x, z) != D(x, z2)).nonzero().flatten().tolist() == [1]  # each verdict reads its own pair's z


def test_concat_joint_is_one_mlp_on_the_pair() -> None:
    torch.manual_seed(0)
    D = build_net(NetConfig(arch="concat", width=8, depth=2, norm="none"), "joint",
                  NetSpec((2,), (), ConditionSpec("latent", 3))).eval()
    x, z = torch.randn(4, 2), torch.randn(4, 3)
    assert D(x, z).shape == (4,)
    assert D.body[0].in_features == 5  # x's 2 coordinates and z's 3, joined
    z2 = z.clone()
    z2[2] += 1
    assert (D(x, z) != D(x, z2)).nonzero().flatten().tolist() == [2]


def test_joint_needs_a_latent_condition() -> None:
    with pytest.raises(UserError, match="latent"):
        build_net(NetConfig(arch="mlp", width=4, depth=1), "joint", NetSpec((2,), ()))


def test_encoder_side_losses_mirror_the_fake_target() -> None:
    r = torch.randn(64)
    assert LOSSES.get("ns").encoder(r) == pytest.approx(F.softplus(r).mean().item())  # the ALI label swap
    assert LOSSES.get("minimax").encoder(r) == pytest.approx(-F.softplus(-r).mean().item())  # minimise log D
    assert LOSSES.get("wgan").encoder(r) == pytest.approx(r.mean().item())
    assert LOSSES.get("lsgan").encoder(r) == pytest.approx(0.5 * (r**2).mean().item())  # fake target a = 0


def test_phases_optimisers_and_encoders(tmp_path: Path) -> None:
    trainer = Trainer(ali_toy(), tmp_path / "a")
    game = trainer.game
    assert [(p.name, p.optimizers, p.trains) for p in game.phases] == [("EGD", ("E", "G", "D"), ("E", "G", "D"))]
    critic = Trainer(ali_toy(**{"game.n_critic": "3"}), tmp_path / "c").game.phases
    assert [(p.name, p.optimizers, p.repeat) for p in critic] == [("EGD", ("E", "G", "D"), 1), ("D", ("D",), 2)]
    assert set(game.ema_players) == {"E", "G"}
    x = torch.randn(6, 2)
    E = trainer.players["E"]
    assert E(x).shape == (6, 4)  # stochastic: mean and log sigma
    mu = game.encode(E, x)
    assert torch.equal(mu, E(x)[:, :2])
    draws = torch.stack([game._draw_z(E, x) for _ in range(200)])
    sigma = game.posterior(E, x)[1].exp()
    assert torch.allclose(draws.mean(0), mu, atol=4 * sigma.max().item() / 200**0.5 + 1e-6)
    bigan = Trainer(ali_toy(**{"game.encoder": "deterministic"}), tmp_path / "b")
    E = bigan.players["E"]
    assert E(x).shape == (6, 2) and torch.equal(bigan.game._draw_z(E, x), E(x))
    assert bigan.game.reconstruct(bigan.players, x).shape == (6, 2)


@pytest.mark.parametrize("loss", ["ns", "wgan"])
def test_one_pass_gives_each_side_its_own_gradient(tmp_path: Path, loss: str) -> None:
    """The EGD phase's gradients are those of the two-pass step they replace: E and G minimise their loss
    through a frozen D, then D minimises its loss on the same pairs, detached (with an R1 penalty on them)."""
    cfg = ali_toy(**{"game.loss": loss, "game.penalty": "r1", "game.penalty_weight": "2", "nets.D.norm": "none",
                     "nets.D.dropout": "0"})  # dropout would draw other masks in the two-pass step
    trainer = Trainer(cfg, tmp_path)
    game, players = trainer.game, trainer.players
    x = trainer.data.column("x")[:32]
    torch.manual_seed(5)
    losses, _ = game.loss("EGD", {"x": x}, players)
    optimizers = {name: trainer.optimizers[name] for name in ("E", "G", "D")}
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
    backward(losses, optimizers)
    fused = {n: [p.grad.clone() for p in players[n].parameters()] for n in ("E", "G", "D")}

    for module in players.values():
        module.zero_grad(set_to_none=True)
    torch.manual_seed(5)  # the same z and reparameterisation noise
    z = game._noise(len(x), x)
    z_hat, fake = game._draw_z(players["E"], x), players["G"](z)
    players["D"].requires_grad_(False)
    (game.loss_fn.g(players["D"](fake, z)) + game.loss_fn.encoder(players["D"](x, z_hat))).backward()
    players["D"].requires_grad_(True)
    z_hat, fake = z_hat.detach(), fake.detach()
    d_loss, _ = game._d_terms(players["D"], x, z_hat, fake, z, players["D"](x, z_hat), players["D"](fake, z))
    players["E"].requires_grad_(False), players["G"].requires_grad_(False)
    d_loss.backward()
    for n in ("E", "G", "D"):
        for a, p in zip(fused[n], players[n].parameters()):
            assert torch.allclose(a, p.grad, atol=1e-6), n


@pytest.mark.parametrize("encoder", ["stochastic", "deterministic"])
def test_alice_cycle_terms_are_the_written_formula(tmp_path: Path, encoder: str) -> None:
    """game.cycle_x / cycle_z add ALICE's explicit terms to E and G's loss, not D's:
    loss_EG = adversarial + cycle_x * mean (G(z_hat) - x)^2 + cycle_z * mean (E(G(z)) - z)^2."""
    base = {"game.encoder": encoder, "nets.D.dropout": "0", "nets.G.norm": "none"}
    trainer = Trainer(ali_toy(**base, **{"game.cycle_x": "2", "game.cycle_z": "0.5"}), tmp_path)
    game, players, x = trainer.game, trainer.players, trainer.data.column("x")[:16]
    torch.manual_seed(3)
    losses, stats = game.loss("EGD", {"x": x}, players)
    torch.manual_seed(3)  # the same draws, by hand: z, then z_hat, then E's draw on G(z)
    z = game._noise(len(x), x)
    z_hat, fake = game._draw_z(players["E"], x), players["G"](z)
    rec_x = torch.mean((players["G"](z_hat) - x) ** 2)
    rec_z = torch.mean((game._draw_z(players["E"], fake) - z) ** 2)
    adversarial = game.loss_fn.g(players["D"](fake, z)) + game.loss_fn.encoder(players["D"](x, z_hat))
    assert torch.allclose(losses["E"], adversarial + 2 * rec_x + 0.5 * rec_z, atol=1e-6)
    assert torch.allclose(stats["cycle_x"], rec_x) and torch.allclose(stats["cycle_z"], rec_z)
    d_plain, _ = game._d_terms(players["D"], x, z_hat, fake, z, players["D"](x, z_hat), players["D"](fake, z))
    assert torch.allclose(losses["D"], d_plain, atol=1e-6)  # D's loss has no cycle term
    plain = Trainer(ali_toy(**base), tmp_path / "plain").game
    assert "cycle_x" not in plain.loss("EGD", {"x": x}, players)[1]


def test_cycle_until_fades_the_cycle_terms_to_plain_ali(tmp_path: Path) -> None:
    """game.cycle_until = u: the cycle weights fall linearly to 0 at u * train.steps, and from then on
    E and G's loss is plain ALI's (no cycle pass is run); 0 keeps them constant."""
    sets = {"nets.D.dropout": "0", "nets.G.norm": "none", "game.cycle_x": "2", "game.cycle_z": "0.5",
            "train.steps": "100"}
    game_u = Trainer(ali_toy(**sets, **{"game.cycle_until": "0.5"}), tmp_path / "u")
    game, players, x = game_u.game, game_u.players, game_u.data.column("x")[:16]

    def eg_loss(step: int) -> tuple[torch.Tensor, dict]:
        game.begin_step(step)
        torch.manual_seed(5)
        loss, stats = game.loss("EGD", {"x": x}, players)
        return loss["E"], stats

    full, stats0 = eg_loss(0)
    half, stats25 = eg_loss(25)
    plain, stats50 = eg_loss(50)
    cycle = 2 * stats0["cycle_x"] + 0.5 * stats0["cycle_z"]
    assert torch.allclose(half, plain + 0.5 * cycle, atol=1e-5)  # the same draws: half the weight at 25 of 50
    assert torch.allclose(full, plain + cycle, atol=1e-5)
    assert "cycle_x" not in stats50 and "cycle_z" not in stats50
    constant = Trainer(ali_toy(**sets), tmp_path / "c").game
    constant.begin_step(99)
    assert constant.cycle_now == 1.0


def test_per_optimiser_losses_must_cover_the_phase() -> None:
    w = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match=r"\['D'\]"):
        backward({"G": (w * 2).sum()}, {"G": torch.optim.SGD([w], lr=0.1), "D": torch.optim.SGD([w], lr=0.1)})


def test_instance_noise_reaches_d_alone_and_fades(tmp_path: Path) -> None:
    trainer = Trainer(ali_toy(**{"game.instance_noise": "0.5", "game.instance_noise_until": "0.5",
                                 "train.steps": "100"}), tmp_path)
    game = trainer.game
    x = torch.zeros(4000, 2)
    game.begin_step(0)
    assert game._seen(x).std().item() == pytest.approx(0.5, rel=0.05)
    game.begin_step(25)
    assert game.noise_now == pytest.approx(0.25)
    game.begin_step(50)
    assert game.noise_now == 0 and torch.equal(game._seen(x), x)
    trainer.train_step()  # the noisy pairs train all three players
    assert all(torch.isfinite(v) for v in trainer.meter.flush().values() if isinstance(v, torch.Tensor))


def test_a_penalty_sees_whole_pairs(tmp_path: Path) -> None:
    trainer = Trainer(ali_images(**{"game.penalty": "r1"}), tmp_path)
    game, D = trainer.game, trainer.players["D"].eval()
    x, z = torch.randn(3, 1, 8, 8), torch.randn(3, 8)
    assert torch.equal(game._judge_packed(D, game._pack(x, z)), D(x, z))
    trainer.players["D"].train()
    trainer.train_step()
    assert "penalty" in trainer.meter.flush()


def test_training_improves_reconstruction_on_the_ring(tmp_path: Path) -> None:
    """1,000 steps on ring8: E learns to invert G, so x -> E -> G comes back near x (measured: 1.02 at the
    start, 0.13 after 1,000 steps; a D that ignored z would leave E untrained)."""
    lr = {f"optim.{p}.lr": "5e-4" for p in "EGD"}
    cfg = ali_toy(**{"train.steps": "1000", "train.batch_size": "64", "nets.G.width": "64", "nets.E.width": "64",
                     "nets.D.width": "64", "nets.D.dropout": "0", **lr})
    trainer = Trainer(cfg, tmp_path)
    x = trainer.data.column("x")[:500]
    with torch.no_grad():
        before = (trainer.game.reconstruct(trainer.players, x) - x).norm(dim=1).mean().item()
    for _ in range(1000):
        trainer.train_step()
    with torch.no_grad():
        after = (trainer.game.reconstruct(trainer.players, x) - x).norm(dim=1).mean().item()
    assert before > 0.5 and after < 0.3, (before, after)


def test_resume_is_exact(tmp_path: Path) -> None:
    cfg = lambda: ali_images(**{"train.steps": "6"})  # noqa: E731
    full = session.train_new(cfg(), tmp_path / "full")

    def stop(trainer) -> None:
        if trainer.step == 4:  # between the checkpoints at 3 and 6
            trainer.request_stop()

    half = session.train_new(cfg(), tmp_path / "half", hooks=[stop])
    resumed = session.resume(half.run_dir)
    a, b = checkpoint.load_latest(full.run_dir), checkpoint.load_latest(resumed.run_dir)
    assert set(a["players"]) == {"E", "G", "D"} and set(a["ema"]) == {"E", "G"}
    for name, weights in a["players"].items():
        assert all(torch.equal(v, b["players"][name][k]) for k, v in weights.items()), name


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="stochastic"):
        ali_toy(**{"game.encoder": "sometimes"})
    with pytest.raises(UserError, match="nets.D.norm"):
        Trainer(ali_images(**{"game.penalty": "gp", "nets.D.norm": "batch"}), tmp_path)
    with pytest.raises(UserError, match="conditional"):
        ali_toy(**{"game.conditional": "true"})


def test_evaluate_scores_inversion_on_points_and_images(tmp_path: Path, monkeypatch) -> None:
    """gankit evaluate on an ALI run adds the inversion section and its pictures to the report."""
    from gankit.cli import main
    from gankit.train.rundir import read_scores

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    toy = session.train_new(ali_toy(**{"train.steps": "10"}), tmp_path / "toy").run_dir
    trained = read_scores(toy)["train"]  # the end-of-run toy scores carry the reconstruction too
    assert trained["modes"] >= 0 and trained["recon_l2"] > 0 and 0 <= trained["recon_within_3sigma"] <= 1
    assert main(["evaluate", str(toy), "--n", "300"]) == 0
    inv = read_scores(toy)["evaluate"]["inversion"]
    assert inv["n"] == 300 and inv["recon_l2"] > 0 and 0 <= inv["recon_within_3sigma"] <= 1
    img = session.train_new(ali_images(**{"train.steps": "4"}), tmp_path / "img").run_dir
    assert main(["evaluate", str(img), "--n", "100"]) == 0
    inv = read_scores(img)["evaluate"]["inversion"]
    assert inv["n"] == 100 and 0 <= inv["recon_mse"] <= 1
    for key in ("class_agreement", "probe_E", "nn_E", "probe_pixels"):
        assert 0 <= inv[key] <= 1, key
    assert inv["probe_pixels"] > 0.8  # digits: raw pixels are linearly separable enough
    page = (img / "report.html").read_text()
    assert "Inversion" in page and 'alt="interpolations"' in page and 'alt="reconstructions"' in page
