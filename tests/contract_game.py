"""A test-only game shaped like the coming ones, registered for the contract tests.

It has what ALI, pix2pix, CycleGAN and text-to-image will need, on 2D points so it trains in a
second: three trained players (E, G, D) and one packaged frozen player (T); two optimisers stepped
in one phase (EG); a paired field (x -> x_b, with ground truth) and an unpaired domain (u, sampled
with its own index); a stateful image pool with a private RNG (CycleGAN's history of fakes), which
must be in the checkpoint for resume to be exact; input | fake | target panels.

    data  x (N, 2), x_b = rotate(x) + 1 (paired);  domain "b": u = rotate(x') + 1 (unpaired)
    D:    minimise softplus(-D(u)) + softplus(D(pool(G(E(x)))))
    EG:   minimise softplus(-D(G(E(x)))) + l1 * (|G(E(x)) - x_b| + |T(G(E(x))) - T(x_b)|)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import config as config_mod
from gankit.config import Config, DataConfig, NetConfig
from gankit.data.base import DataSpec, FieldSpec, TensorData
from gankit.errors import UserError
from gankit.games.base import (BaseGame, Batch, Panels, Phase, PlayerDecl, Players, Roles, Stats, build_players,
                               optimizer_specs)
from gankit.nets.base import NetSpec, register_net
from gankit.registry import DATASETS, GAMES

ROTATE = torch.tensor([[0.0, -1.0], [1.0, 0.0]])


@DATASETS.register("contract-pairs")
def contract_pairs(cfg: DataConfig) -> TensorData:
    g = torch.Generator().manual_seed(99)
    x = torch.randn(400, 2, generator=g)
    u = torch.randn(300, 2, generator=g) @ ROTATE + 1.0
    spec = FieldSpec("points", (2,))
    other = TensorData({"u": u}, {"u": spec}, source="contract-pairs domain b")
    return TensorData({"x": x, "x_b": x @ ROTATE + 1.0}, {"x": spec, "x_b": spec}, source="contract-pairs",
                      domains={"b": other})


class FixedProjection(nn.Module):
    """Stands for a pretrained net from a package: fixed weights (not from torch's global RNG), and
    dropout that only eval mode turns off -- so a test sees whether the loop left it in train mode."""

    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        self.linear = nn.Linear(spec.in_shape[0], spec.out_shape[0])
        g = torch.Generator().manual_seed(7)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(self.linear.weight.shape, generator=g))
            self.linear.bias.zero_()
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.linear(x))


register_net("fixed-projection", "frozen-encoder")(FixedProjection)


@dataclass
class ContractSettings:
    pool_size: int = 8  # fakes kept (CycleGAN keeps 50 images)
    pool_p: float = 0.5  # chance that D is shown a pooled fake instead of the fresh one
    l1: float = 1.0  # weight of the paired reconstruction terms


@GAMES.register("contract-translate")
class ContractGame(BaseGame):
    Settings = ContractSettings
    ema_players = ("E", "G")
    reference_field = "x_b"
    source_fields = ("x", "x_b")

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        return Roles({"E": PlayerDecl("generator"), "G": PlayerDecl("generator"), "D": PlayerDecl("discriminator"),
                      "T": PlayerDecl("frozen-encoder", NetConfig(arch="fixed-projection"), packaged=True)},
                     ("E", "G", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        s: ContractSettings = cfg.game.settings
        z = cfg.nets.z_dim
        self.players = build_players(cfg, self.declare(s), {
            "E": NetSpec(spec["x"].shape, (z,)), "G": NetSpec((z,), spec["x_b"].shape),
            "D": NetSpec(spec["u"].shape, ()), "T": NetSpec((2,), (4,))})
        self.phases = (Phase("D", ("D",), ("D",)), Phase("EG", ("E", "G"), ("E", "G")))
        self.optimizers = optimizer_specs(cfg, {"E": ("E",), "G": ("G",), "D": ("D",)})
        self.size, self.p, self.l1 = s.pool_size, s.pool_p, s.l1
        self.pool = torch.empty(0, 2)
        self.rng = torch.Generator().manual_seed(cfg.seed + 11)

    def _from_pool(self, fake: Tensor) -> Tensor:
        """CycleGAN's image pool (Shrivastava et al. 2017): fill it, then with probability p show D an
        old fake and keep the new one in its place."""
        self.pool = self.pool.to(fake.device)
        out = []
        for f in fake:
            if len(self.pool) < self.size:
                self.pool = torch.cat([self.pool, f[None]])
                out.append(f)
            elif torch.rand((), generator=self.rng) < self.p:
                i = int(torch.randint(self.size, (), generator=self.rng))
                out.append(self.pool[i].clone())
                self.pool[i] = f
            else:
                out.append(f)
        return torch.stack(out)

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, x_b = batch["x"], batch["x_b"]
        if phase == "D":
            with torch.no_grad():
                fake = self._from_pool(players["G"](players["E"](x)))
            loss = F.softplus(-players["D"](batch["u"])).mean() + F.softplus(players["D"](fake)).mean()
            return loss, {"loss_D": loss.detach()}
        fake = players["G"](players["E"](x))
        rec = (fake - x_b).abs().mean() + (players["T"](fake) - players["T"](x_b)).abs().mean()
        loss = F.softplus(-players["D"](fake)).mean() + self.l1 * rec
        return loss, {"loss_EG": loss.detach(), "l1": rec.detach()}

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        if source is None:
            raise UserError("this model translates data: it needs input examples")
        return {"x": source["x"][:n], "target": source["x_b"][:n]}

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        return {"input": inputs["x"], "fake": players["G"](players["E"](inputs["x"])), "target": inputs["target"]}

    def state_dict(self) -> dict[str, Any]:
        return {"pool": self.pool.cpu(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool, _ = state["pool"].clone(), self.rng.set_state(state["rng"])


MLP = {"arch": "mlp", "width": 16, "depth": 2, "norm": "none"}


def contract_cfg(**overrides: str):
    values = {"data": {"name": "contract-pairs"}, "nets": {"z_dim": 3, "E": MLP, "G": MLP, "D": MLP},
              "game": {"name": "contract-translate"},
              "train": {"steps": 12, "batch_size": 16, "log_every": 2, "sample_every": 4, "ckpt_every": 5,
                        "progress": False},
              "eval": {"n_samples": 64}}
    return config_mod.build(values, config_mod.parse_overrides([f"{k}={v}" for k, v in overrides.items()]))
