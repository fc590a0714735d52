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
F is a "features" net (a discriminator's body: `[nets.F]`, optimiser `[optim.F]`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import Config, NetConfig, allowed
from gankit.data.base import DataSpec
from gankit.errors import UserError
from gankit.games.base import (BaseGame, Batch, Panels, Phase, PlayerDecl, Players, Roles, Stats, build_players,
                               optimizer_specs)
from gankit.losses.sinkhorn import sinkhorn_divergence
from gankit.nets.base import NetSpec, sample_noise
from gankit.registry import GAMES


@dataclass
class SinkhornSettings:
    """[game] of the sinkhorn game."""

    blur: float = field(default=0.05, metadata=allowed(lambda v: 1e-4 <= v <= 1e3, "a number in [1e-4, 1e3]"))  # eps = blur^2
    scaling: float = field(default=0.9, metadata=allowed(lambda v: 0 < v <= 0.99, "a number in (0, 0.99]"))  # eps-scaling
    features: bool = False  # compare samples in a learned feature map F (an adversarial critic)
    n_critic: int = field(default=1, metadata=allowed(lambda v: 1 <= v <= 1000, "an integer in [1, 1000]"))  # F steps per G step
    clip: float = field(default=0.0, metadata=allowed(lambda v: v >= 0, "a number >= 0 (0 = no clipping)"))


@GAMES.register("sinkhorn")
class SinkhornGame(BaseGame):
    """G against the data under a Sinkhorn divergence; optionally in a critic's learned features."""

    Settings = SinkhornSettings
    ema_players = ("G",)

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        players = {"G": PlayerDecl("generator", NetConfig(norm="batch"))}
        if settings.features:
            players["F"] = PlayerDecl("features")
        return Roles(players, tuple(players))

    @classmethod
    def migrate_config(cls, values: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
        """Runs from before player tables kept the feature critic in [nets.D] / [optim.D]: it is F now (and
        those tables did nothing when the run used no learned features)."""
        for section in ("nets", "optim"):
            table = values.get(section, {})
            if "D" in table:
                critic = table.pop("D")
                if written.get("features", False):
                    table["F"] = critic
        return values

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        g: SinkhornSettings = cfg.game.settings
        if g.clip and not g.features:
            raise UserError("game.clip applies to the learned feature map; set game.features=true or game.clip=0")
        if g.n_critic > 1 and not g.features:
            raise UserError("game.n_critic counts steps of the learned feature map; set game.features=true "
                            "or game.n_critic=1")
        self.learned = g.features
        x = spec["x"].shape
        specs = {"G": NetSpec((cfg.nets.z_dim,), x), "F": NetSpec(x, ())}
        self.players = build_players(cfg, self.declare(g), specs)
        self.z_dim, self.z_dist = cfg.nets.z_dim, cfg.nets.z_dist
        self.blur, self.scaling = g.blur, g.scaling
        self.phases = (
            *([Phase("F", optimizers=("F",), trains=("F",), repeat=g.n_critic, clip=g.clip)] if self.learned else []),
            Phase("G", optimizers=("G",), trains=("G",)),
        )
        self.optimizers = optimizer_specs(cfg, {name: (name,) for name in self.players})

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return sample_noise(self.z_dist, n, self.z_dim, device=like.device)

    def _embed(self, players: Players, x: Tensor) -> Tensor:
        if not self.learned:
            return x.flatten(1)
        return F.normalize(players["F"](x), dim=1)

    def _divergence(self, players: Players, fake: Tensor, real: Tensor) -> Tensor:
        return sinkhorn_divergence(self._embed(players, fake), self._embed(players, real), self.blur, self.scaling)

    def extra_memory(self, batch_size: int) -> int:
        # GeomLoss's tensorized backend builds B x B cost matrices (x, y and their blend), float32
        return 3 * batch_size * batch_size * 4 * len(self.phases)

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x = batch["x"]
        if phase == "F":
            with torch.no_grad():
                fake = players["G"](self._noise(len(x), x))
            div = self._divergence(players, fake, x)
            return -div, {"sinkhorn_F": div.detach()}
        div = self._divergence(players, players["G"](self._noise(len(x), x)), x)
        return div, {"loss_G": div.detach()}

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        return {"z": sample_noise(self.z_dist, n, self.z_dim, generator=generator)}

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        return {"fake": players["G"](inputs["z"])}

    def live_surface(self, players: Players, grid: Tensor) -> tuple[Tensor | None, str]:
        if self.learned:
            return None, "F is a learned feature map (the transport cost), not a verdict on each point"
        return None, "no discriminator: the Sinkhorn divergence to the data has no verdict on each point"

    def generator_loss(self, players: Players, fake: Tensor, inputs: Mapping[str, Tensor],
                       real: Tensor) -> tuple[Tensor | None, str]:
        where = "in F's features" if self.learned else "on raw points"
        # -N grad is about the step from each fake towards its transport target (the displacement field)
        return self._divergence(players, fake, real), f"S_eps(G(z), x) {where} (blur {self.blur:g}), x the real points shown"
