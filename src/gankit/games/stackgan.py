"""StackGAN's stage II (Zhang et al. 2017): refine a finished stage-I generator's pictures.

Stage I is the conditional `gan` game with conditioning augmentation at low resolution (preset
shapes-stackgan1). Stage II, this game, trains as the paper does, one stage after the other:

    players  G1  stage I's generator, loaded from that run (nets.G1.init_from = "RUN:G") and frozen
             G2  the refiner (nets/refiner.py): G2(G1(z, c), c), with its own conditioning augmentation
             D   a discriminator at the output resolution, matching-aware like stage I's
    step     D phase and G phase of the `gan` game with G = G2 o G1 (only G2 and D learn):
             D:  loss.d( D(x, c), [ D(G2(G1(z, c), c), c) ; D(x, c') ] )
             G2: loss.g( D(G2(G1(z, c), c), c) ) + augment_kl * KL + mode_seeking term
    panels   fake (stage II) and stage1 (G1's picture, upsampled to the output side) for the same
             z and text, so pictures and scores compare the two stages sample by sample.

The stage-I run a stage-II run builds on is written in its config (nets.G1.init_from, made
absolute when training starts) and the weights it took (which copy, which step) in provenance.json.
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
from gankit.games.base import Panels, PlayerDecl, Players, Roles
from gankit.games.gan import GanGame, GanSettings
from gankit.nets.base import NetSpec
from gankit.registry import GAMES


@dataclass
class StackGanSettings(GanSettings):
    """[game] of stackgan: the gan game's settings (conditional on text by default) and stage I's side."""

    conditional: bool = True
    condition: str = "caption"
    mismatch: bool = True
    augment_kl: float = field(default=1.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))
    stage1_resolution: int = field(default=32, metadata=allowed(lambda v: v in (16, 32), "16 or 32"))
    stage1_augment: bool = True  # stage I was trained with conditioning augmentation (its G has the CA layer)


@GAMES.register("stackgan")
class StackGanGame(GanGame):
    """StackGAN stage II: a refiner G2 on a frozen stage-I G1, against a higher-resolution D."""

    Settings = StackGanSettings
    ema_players = ("G2",)
    generators = ("G2",)

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        return Roles({"G1": PlayerDecl("generator", NetConfig(arch="dcgan", width=64, norm="batch", frozen=True)),
                      "G2": PlayerDecl("refiner", NetConfig(arch="stackgan", width=32, norm="batch")),
                      "D": PlayerDecl("discriminator", NetConfig(arch="dcgan", width=64, norm="batch"))},
                     ("G2", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        s: StackGanSettings = cfg.game.settings
        if not s.conditional:
            raise UserError("stackgan draws from text: keep game.conditional=true")
        if not cfg.nets.G1.init_from:  # a random G1 would be refined without complaint, and mean nothing
            raise UserError("stackgan stage II refines a finished stage-I run: set nets.G1.init_from=RUN:G "
                            "(train one with `gankit train shapes-stackgan1`)")
        if not cfg.nets.G1.frozen:
            raise UserError("stackgan trains stage by stage: stage I's generator stays frozen (nets.G1.frozen=true)")
        self.stage1_side = s.stage1_resolution
        out = spec["x"].shape[-1]
        if out not in (2 * self.stage1_side, 4 * self.stage1_side):
            raise UserError(f"stackgan refines {self.stage1_side} px into 2x or 4x that; the data is {out} px "
                            f"(set data.resolution={2 * self.stage1_side} or {4 * self.stage1_side})")
        self.stage1_augment = s.stage1_augment
        super().__init__(cfg, spec)

    def net_specs(self, cfg: Config, spec: DataSpec, g_cond: Any, d_spec: NetSpec) -> dict[str, NetSpec]:
        from dataclasses import replace

        x = spec["x"].shape
        small = (x[0], self.stage1_side, self.stage1_side)
        g1_cond = replace(g_cond, augment=self.stage1_augment)
        return {"G1": NetSpec((cfg.nets.z_dim,), small, g1_cond), "G2": NetSpec(small, x, g_cond), "D": d_spec}

    def draw(self, players: Players, z: Tensor, c: Tensor | None) -> Tensor:
        with torch.no_grad():  # G1 is frozen: no graph through it
            low = players["G1"](z, c)
        return players["G2"](low, c)

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        z, c = inputs["z"], inputs.get(self.cond_key)
        low = players["G1"](z, c)
        fake = players["G2"](low, c)
        up = F.interpolate(low, size=fake.shape[-2:], mode="bilinear", align_corners=False).clamp(-1, 1)
        return {"stage1": up, "fake": fake}  # in this order: the grids show stage I | stage II
