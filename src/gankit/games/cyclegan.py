"""CycleGAN (Zhu et al. 2017): image translation learnt from two unpaired collections.

Names as in the paper (the reference code calls them G_A = G, G_B = F, D_A = D_Y, D_B = D_X):
    X = the input collection (data field x), Y = the other (x_b, a domain with its own index:
    data.paired=false, so the game never learns which y belongs to which x)
    G: X -> Y and F: Y -> X  translators (ResNet blocks, nets/resnet.py)
    D_Y judges Y (real y against G(x)), D_X judges X (real x against F(y)); PatchGANs

    G phase (G and F, one Adam):
        loss.g(D_Y(G(x))) + loss.g(D_X(F(y)))                                   adversarial (lsgan)
      + lambda * ( |F(G(x)) - x|_1 + |G(F(y)) - y|_1 )                          cycle consistency
      + identity * lambda * ( |G(y) - y|_1 + |F(x) - x|_1 )                     identity (Taesung's code: 0.5)
    D phase (D_X and D_Y, one Adam), after G's, on fakes from the history pools (games/image_pool.py):
        1/2 loss.d(D_Y(y), D_Y(pool_Y(G(x)))) + 1/2 loss.d(D_X(x), D_X(pool_X(F(y))))

lambda = 10, identity = 0.5, pools of 50, Adam 2e-4 (0.5, 0.999) with the learning rate decaying
linearly to 0 over the second half (train.lr_decay_start = 0.5), as the paper. The D phase reuses the
fakes of the G phase of the same step (as the reference code does), so a step runs each generator
on one batch of each collection plus the cycle and identity passes, and no more.

Ablations (the paper's Table 4): game.cycle=0 (GAN alone: nothing ties the output to its input),
game.identity=0, game.cycle_directions=forward (only F(G(x)) ~ x) or backward (only G(F(y)) ~ y).
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
from gankit.games.image_pool import ImagePool
from gankit.games.pix2pix import check_translation_data, display
from gankit.nets.base import NetSpec
from gankit.registry import GAMES, LOSSES


@dataclass
class CycleGanSettings:
    """[game] of cyclegan."""

    loss: str = "lsgan"  # registered adversarial loss (the paper: least squares, Mao et al. 2017)
    cycle: float = field(default=10.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6] (0 = off)"))
    identity: float = field(default=0.5, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))
    cycle_directions: str = field(default="both", metadata=allowed(lambda v: v in ("both", "forward", "backward"),
                                                                   "both, forward or backward"))
    pool_size: int = field(default=50, metadata=allowed(lambda v: 0 <= v <= 10_000, "an integer in [0, 10000]"))


@GAMES.register("cyclegan")
class CycleGanGame(BaseGame):
    """CycleGAN: G: X -> Y and F: Y -> X against D_Y and D_X, tied by cycle consistency."""

    Settings = CycleGanSettings
    ema_players = ("G", "F")
    reference_field = "x_b"  # G's fakes imitate Y
    source_fields = ("x", "x_b")
    directions = {"AtoB": "G", "BtoA": "F"}

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        gen = NetConfig(arch="resnet", width=64, depth=6, norm="instance")
        disc = NetConfig(arch="patchgan", width=64, depth=2, norm="instance")
        return Roles({"G": PlayerDecl("translator", gen), "F": PlayerDecl("translator", gen),
                      "D_Y": PlayerDecl("discriminator", disc), "D_X": PlayerDecl("discriminator", disc)},
                     ("G", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        s: CycleGanSettings = cfg.game.settings
        check_translation_data(spec, "cyclegan", paired=False)
        x, y = spec["x"].shape, spec["x_b"].shape
        if x[1:] != y[1:]:
            raise UserError(f"cyclegan maps between images of one size; X is {x}, Y is {y} (set data.resolution)")
        if s.identity > 0 and x[0] != y[0]:
            raise UserError(f"game.identity > 0 compares G(y) with y, which needs as many channels in X ({x[0]}) "
                            f"as in Y ({y[0]}); set game.identity=0")
        if s.identity > 0 and s.cycle == 0:
            raise UserError("game.identity is a fraction of the cycle weight (identity * cycle): with game.cycle=0 "
                            "it would do nothing; set game.identity=0 too")
        self.loss_fn = LOSSES.get(s.loss)
        self.critic_kind = "probability" if self.loss_fn.probabilistic else "score"
        self.players = build_players(cfg, self.declare(s), {"G": NetSpec(x, y), "F": NetSpec(y, x),
                                                            "D_Y": NetSpec(y, ()), "D_X": NetSpec(x, ())})
        self.phases = (Phase("G", ("G",), ("G", "F")), Phase("D", ("D",), ("D_X", "D_Y")))
        self.optimizers = optimizer_specs(cfg, {"G": ("G", "F"), "D": ("D_X", "D_Y")})
        self.cycle, self.identity = s.cycle, s.identity
        self.forward_cycle = s.cycle > 0 and s.cycle_directions in ("both", "forward")
        self.backward_cycle = s.cycle > 0 and s.cycle_directions in ("both", "backward")
        self.pool_x = ImagePool(s.pool_size, 0.5, cfg.seed + 101)
        self.pool_y = ImagePool(s.pool_size, 0.5, cfg.seed + 202)
        self._fakes: tuple[Tensor, Tensor] | None = None  # (G(x), F(y)) of this step's G phase, for D's
        self.channels = (x[0], y[0])

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        return self._g_loss(batch, players) if phase == "G" else self._d_loss(batch, players)

    def _g_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, y = batch["x"], batch["x_b"]
        G, F_ = players["G"], players["F"]
        fake_y, fake_x = G(x), F_(y)
        adv_g = self.loss_fn.g(players["D_Y"](fake_y))
        adv_f = self.loss_fn.g(players["D_X"](fake_x))
        loss = adv_g + adv_f
        stats: Stats = {"loss_G_gan": adv_g.detach(), "loss_F_gan": adv_f.detach()}
        if self.forward_cycle:  # x -> G -> F -> x
            cyc = F.l1_loss(F_(fake_y), x)
            loss = loss + self.cycle * cyc
            stats["cycle_x"] = cyc.detach()
        if self.backward_cycle:  # y -> F -> G -> y
            cyc = F.l1_loss(G(fake_x), y)
            loss = loss + self.cycle * cyc
            stats["cycle_y"] = cyc.detach()
        if self.identity > 0:  # G leaves what is already in Y alone (and F what is in X)
            idt = F.l1_loss(G(y), y) + F.l1_loss(F_(x), x)
            loss = loss + self.identity * self.cycle * idt
            stats["identity"] = idt.detach()
        stats["loss_G"] = loss.detach()
        self._fakes = (fake_y.detach(), fake_x.detach())
        return loss, stats

    def _d_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, y = batch["x"], batch["x_b"]
        if self._fakes is None or len(self._fakes[0]) != len(x):  # no G phase before (a phase run alone)
            with torch.no_grad():
                self._fakes = (players["G"](x), players["F"](y))
        fake_y, fake_x = self._fakes
        self._fakes = None
        real_y, shown_y = players["D_Y"](y), players["D_Y"](self.pool_y(fake_y))
        real_x, shown_x = players["D_X"](x), players["D_X"](self.pool_x(fake_x))
        loss_y = 0.5 * self.loss_fn.d(real_y, shown_y)
        loss_x = 0.5 * self.loss_fn.d(real_x, shown_x)
        stats: Stats = {"loss_D": (loss_x + loss_y).detach(), "loss_D_Y": loss_y.detach(), "loss_D_X": loss_x.detach()}
        if self.loss_fn.probabilistic:
            stats.update({"D(x)": torch.sigmoid(real_y.detach()).mean(), "D(G(z))": torch.sigmoid(shown_y.detach()).mean()})
        else:  # D_Y's scores: what the curves of every game show as D(x) and D(G(z))
            stats.update({"critic(x)": real_y.detach().mean(), "critic(G(z))": shown_y.detach().mean()})
        return loss_x + loss_y, stats

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        if source is None:
            raise UserError("cyclegan translates images: it needs input images (gankit translate RUN INPUT)")
        return {"x": source["x"][:n]}

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        """input | G(x) | F(G(x)) (the cycle's reconstruction) [| target, when the caller knows it]."""
        x = inputs["x"]
        fake = players["G"](x)
        shown = max(self.channels)
        panels = {"input": display(x, shown), "fake": fake, "cycle": display(players["F"](fake), shown)}
        if "target" in inputs:
            panels["target"] = inputs["target"]
        return panels

    def state_dict(self) -> dict[str, Any]:
        return {"pool_x": self.pool_x.state_dict(), "pool_y": self.pool_y.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool_x.load_state_dict(state["pool_x"])
        self.pool_y.load_state_dict(state["pool_y"])
