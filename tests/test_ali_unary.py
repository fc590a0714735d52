"""ALI's BigBiGAN unary terms (game.unary) and the projection joint D (nets.D.arch=projection)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import ConditionSpec, NetSpec, build_net
from gankit.train.loop import Trainer
from tests.conftest import tiny_toy


def ali_toy(**overrides: str):
    return tiny_toy(**{"game.name": "ali", **overrides})


def test_projection_joint_is_the_inner_product_of_the_branches() -> None:
    """nets.D.arch=projection: s_xz = <phi(x), psi(z)>, no joint layers; its unary heads read phi and psi."""
    torch.manual_seed(0)
    D = build_net(NetConfig(arch="projection", width=8, depth=2, norm="none"), "joint",
                  NetSpec((2,), (), ConditionSpec("latent", 3, unary=True))).eval()
    x, z = torch.randn(4, 2), torch.randn(4, 3)
    phi, psi = D.x_branch(x), D.z_branch(z)
    assert D.joint is None and torch.allclose(D(x, z), (phi * psi).sum(1))
    out = D(x, z, unary=True)
    assert torch.allclose(out[1], D.unary_heads[0](phi).squeeze(1))
    assert torch.allclose(out[2], D.unary_heads[1](psi).squeeze(1))
    z2 = z.clone()
    z2[3] += 1
    assert (D(x, z) != D(x, z2)).nonzero().flatten().tolist() == [3]


@pytest.mark.parametrize("arch, shape", [("mlp", (2,)), ("dcgan", (1, 8, 8))])
def test_unary_heads_score_x_and_z_alone(arch: str, shape: tuple[int, ...]) -> None:
    """BigBiGAN's joint D: column 0 is the pair's score, column 1 reads x alone, column 2 z alone; the heads
    are built last, so the rest of D draws the same initial weights as a D without them."""
    spec = lambda unary: NetSpec(shape, (), ConditionSpec("latent", 3, unary=unary))  # noqa: E731
    cfg = NetConfig(arch=arch, width=8, depth=2, norm="none", dropout=0.0)
    torch.manual_seed(0)
    plain = build_net(cfg, "joint", spec(False))
    torch.manual_seed(0)
    D = build_net(cfg, "joint", spec(True)).eval()
    for name, p in plain.named_parameters():
        assert torch.equal(p, D.get_parameter(name)), name
    x, z = torch.randn(4, *shape), torch.randn(4, 3)
    out = D(x, z, unary=True)
    assert [o.shape for o in out] == [(4,)] * 3 and torch.equal(out[0], D(x, z))
    x2, z2 = x.clone(), z.clone()
    x2[1] += 1
    z2[2] += 1
    assert torch.equal(D(x, z2, unary=True)[1], out[1])  # s_x ignores z
    assert torch.equal(D(x2, z, unary=True)[2], out[2])  # s_z ignores x
    assert (D(x2, z, unary=True)[1] != out[1]).nonzero().flatten().tolist() == [1]
    with pytest.raises(UserError, match="unary"):
        plain(x, z, unary=True)
    with pytest.raises(UserError, match="game.unary"):
        build_net(NetConfig(arch="concat", width=8, depth=2), "joint", NetSpec((2,), (), ConditionSpec(
            "latent", 3, unary=True)))


@pytest.mark.parametrize("loss", ["ns", "hinge"])
def test_unary_terms_are_the_written_formula(tmp_path: Path, loss: str) -> None:
    """game.unary = w: D's loss is fn(s_xz) + w (fn(s_x) + fn(s_z)); E and G's the generator side's, less the
    two terms that do not depend on them (s_z of the prior's z in G's, s_x of the data's x in E's): so their
    gradients are those of the full sum."""
    trainer = Trainer(ali_toy(**{"game.loss": loss, "game.unary": "2", "nets.D.dropout": "0",
                                 "nets.G.norm": "none"}), tmp_path)
    game, players, x, D = trainer.game, trainer.players, trainer.data.column("x")[:16], trainer.players["D"]
    torch.manual_seed(3)
    losses, stats = game.loss("EGD", {"x": x}, players)
    torch.manual_seed(3)
    z = game._noise(len(x), x)
    z_hat, fake = game._draw_z(players["E"], x), players["G"](z)
    r, f = D(x, z_hat, unary=True), D(fake, z, unary=True)
    fn = game.loss_fn
    want_d = sum(w * fn.d(r[k], f[k]) for k, w in enumerate((1, 2, 2)))
    full_eg = sum(w * (fn.g(f[k]) + fn.encoder(r[k])) for k, w in enumerate((1, 2, 2)))
    want_eg = full_eg - 2 * (fn.g(f[2]) + fn.encoder(r[1]))
    assert torch.allclose(losses["D"], want_d, atol=1e-6) and torch.allclose(losses["E"], want_eg, atol=1e-6)
    assert torch.allclose(losses["G"], want_eg, atol=1e-6)
    for name in ("E", "G"):
        params = list(players[name].parameters())
        got = torch.autograd.grad(losses[name], params, retain_graph=True)
        want = torch.autograd.grad(full_eg, params, retain_graph=True)
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want)), name
    key = "D(x,E(x))" if loss == "ns" else "critic(x,E(x))"  # the verdicts stay the pair's
    assert torch.allclose(stats[key], torch.sigmoid(r[0]).mean() if loss == "ns" else r[0].mean())
    plain = Trainer(ali_toy(), tmp_path / "plain").players["D"]
    heads = sum(head.in_features + 1 for head in D.unary_heads)
    assert sum(p.numel() for p in D.parameters()) == sum(p.numel() for p in plain.parameters()) + heads
