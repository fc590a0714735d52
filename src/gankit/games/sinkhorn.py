"""Sinkhorn generative models (Genevay, Peyre & Cuturi 2018): G minimises a debiased Sinkhorn
divergence between a generated batch and a real batch.

On raw samples (game.features = false) it is a one-player game: there is no discriminator,
the optimal-transport cost |x - y|^2 / 2 itself says how far the fakes are from the data:
    G phase: minimise S_eps(G(z), x)                          (losses/sinkhorn.py, eps = blur^2)
With a learned feature map (game.features = true) a critic F embeds the samples and the cost
is measured in that embedding, normalised onto the unit sphere (so |f - f'|^2 / 2 = 1 - cos,
the cosine cost of OT-GAN, Salimans et al. 2018, which keeps the divergence bounded without
clipping). F is trained adversarially to make fakes and data far apart:
    F phase: minimise -S_eps(F(G(z)), F(x))   (n_critic times)     G phase: minimise S_eps(F(G(z)), F(x))
F is the D net of the config (`nets.D`), read through its `features` method.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.games.base import Batch, OptimizerSpec, Phase, Stats
from gankit.games.gan import build_players
from gankit.losses.sinkhorn import sinkhorn_divergence
from gankit.nets.base import sample_noise
from gankit.registry import GAMES


@GAMES.register("sinkhorn")
class SinkhornGame:
    """G against the data under a Sinkhorn divergence; optionally in a critic's learned features."""

    ema_players = ("G",)

    def __init__(self, cfg: Config, data: TensorData) -> None:
        if cfg.game.conditional:
            raise UserError("the sinkhorn game is unconditional; set game.conditional=false")
        g = cfg.game
        self.learned = g.features
        players, _ = build_players(cfg, data, roles=("G", "D") if self.learned else ("G",))
        self.players = {"G": players["G"], **({"F": players["D"]} if self.learned else {})}
        if self.learned and not hasattr(self.players["F"], "features"):
            raise UserError(f"net {cfg.nets.D.arch!r} has no feature map for game.features=true")
        self.z_dim, self.z_dist = cfg.nets.z_dim, cfg.nets.z_dist
        self.blur, self.scaling = g.blur, g.scaling
        self.phases = (
            *([Phase("F", optimizers=("F",), trains=("F",), repeat=g.n_critic, clip=g.clip)] if self.learned else []),
            Phase("G", optimizers=("G",), trains=("G",)),
        )
        self.optimizers = {"G": OptimizerSpec(("G",), cfg.optim.G)}
        if self.learned:
            self.optimizers["F"] = OptimizerSpec(("F",), cfg.optim.D)

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return sample_noise(self.z_dist, n, self.z_dim, device=like.device)

    def _embed(self, x: Tensor) -> Tensor:
        if not self.learned:
            return x.flatten(1)
        return F.normalize(self.players["F"].features(x), dim=1)

    def _divergence(self, fake: Tensor, real: Tensor) -> Tensor:
        return sinkhorn_divergence(self._embed(fake), self._embed(real), self.blur, self.scaling)

    def begin_step(self, step: int) -> None:
        pass  # no schedule inside this game

    def loss(self, phase: str, batch: Batch) -> tuple[Tensor, Stats]:
        x = batch["x"]
        if phase == "F":
            with torch.no_grad():
                fake = self.players["G"](self._noise(len(x), x))
            div = self._divergence(fake, x)
            return -div, {"sinkhorn_F": div.detach()}
        div = self._divergence(self.players["G"](self._noise(len(x), x)), x)
        return div, {"loss_G": div.detach()}

    def fixed_inputs(self, n: int, generator: torch.Generator, label: int | None = None) -> dict[str, Tensor]:
        if label is not None:
            raise UserError("--label needs a class-conditional model; the sinkhorn game is unconditional")
        return {"z": sample_noise(self.z_dist, n, self.z_dim, generator=generator)}

    def generate(self, players: Mapping[str, nn.Module], inputs: Mapping[str, Tensor]) -> Tensor:
        return players["G"](inputs["z"])

    def critic(self, players: Mapping[str, nn.Module], x: Tensor) -> Tensor | None:
        return None  # no discriminator whose verdict could be drawn
