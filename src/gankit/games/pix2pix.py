"""pix2pix (Isola et al. 2017): a conditional GAN whose condition is a whole image.

Data: pairs (x, x_b) -- x the input (a label map, edges), x_b its target photo (data.paired=true).
Players: G a translator x -> x_b (U-Net, nets/unet.py; dropout is its only noise, no z) and D a
PatchGAN (nets/patchgan.py) that judges each patch of the output as real or fake; a conditional D
judges (input, output) pairs, the input image concatenated to the output on channels.

    D phase:  1/2 loss.d( D(x_b | x), D(G(x) | x) )           G not differentiated
    G phase:  loss.g( D(G(x) | x) ) + lambda * |G(x) - x_b|_1     lambda = 100 (paper)

The 1/2 on D's loss is the paper's ("we divide the objective by 2 while optimizing D, which slows
down the rate at which D learns relative to G"). The losses are the registered ones: ns (the paper's
"vanilla" cross-entropy, with G's non-saturating form) by default, lsgan, hinge ...

Ablations of the paper's Table 1, by setting:
    L1 only:       game.gan=none            (D never trained nor asked: blurry, the mean of the possible outputs)
    cGAN only:     game.l1=0
    L1 + GAN:      game.gan=unconditional   (D sees only the output: it cannot check that the
                                             output fits its input)
    L1 + cGAN:     the default
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
from gankit.nets.base import ConditionSpec, NetSpec
from gankit.registry import GAMES, LOSSES


@dataclass
class Pix2PixSettings:
    """[game] of pix2pix."""

    loss: str = "ns"  # registered adversarial loss (the paper: cross-entropy, here ns)
    gan: str = field(default="conditional", metadata=allowed(lambda v: v in ("conditional", "unconditional", "none"),
                                                             "conditional, unconditional or none"))
    l1: float = field(default=100.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6] (0 = off)"))


def check_translation_data(spec: DataSpec, game: str, paired: bool) -> None:
    """One line when the data is not what a translation game reads: paired (x, x_b) or two domains."""
    if "x" not in spec or "x_b" not in spec or spec["x"].kind not in ("image", "paired_image"):
        have = ", ".join(f"{k} ({v.kind})" for k, v in spec.items())
        raise UserError(f"{game} translates images: it needs image fields x and x_b "
                        f"(a translation dataset: shapes-labels, shapes-edges, fashion-edges, shapes-recolor, "
                        f"shapes-reshape, fashion-sneaker2boot, folder-pairs); this data has: {have}")
    if paired and spec["x_b"].kind != "paired_image":
        raise UserError(f"{game} learns from pairs, and this data has two unpaired collections: set data.paired=true "
                        "(or train the cyclegan game, which needs no pairs)")
    if not paired and spec["x_b"].kind == "paired_image":
        raise UserError(f"{game} learns without pairs: set data.paired=false, so that it never sees which "
                        "image belongs to which")


def display(x: Tensor, channels: int) -> Tensor:
    """x with `channels` channels for a picture beside others (1 -> 3 by repetition)."""
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 and channels == 3 else x


@GAMES.register("pix2pix")
class Pix2PixGame(BaseGame):
    """pix2pix: a U-Net G against a PatchGAN D on (input, output) pairs, with an L1 term."""

    Settings = Pix2PixSettings
    ema_players = ("G",)
    reference_field = "x_b"  # the fakes imitate the targets
    source_fields = ("x", "x_b")  # samples need real inputs, and their targets for the pictures and scores
    directions = {"AtoB": "G"}  # the translator of each direction, relative to the data's (data.direction)

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        # D is declared for every variant, so one preset runs every ablation (game.gan=none keeps D's
        # sections valid, and never trains or consults D)
        return Roles({"G": PlayerDecl("translator", NetConfig(arch="unet", width=64, depth=8, norm="batch")),
                      "D": PlayerDecl("discriminator", NetConfig(arch="patchgan", width=64, depth=2, norm="batch"))},
                     ("G", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        s: Pix2PixSettings = cfg.game.settings
        check_translation_data(spec, "pix2pix", paired=True)
        if s.gan == "none" and s.l1 == 0:
            raise UserError("game.gan=none with game.l1=0 leaves pix2pix nothing to learn from; keep one of them")
        self.loss_fn = LOSSES.get(s.loss)
        self.critic_kind = "probability" if self.loss_fn.probabilistic else "score"
        self.gan, self.l1 = s.gan, s.l1
        x, y = spec["x"].shape, spec["x_b"].shape
        if x[1:] != y[1:]:
            raise UserError(f"pix2pix maps an image to one of the same size; inputs are {x}, targets {y}")
        cond = ConditionSpec("image", x[0], shape=x) if s.gan == "conditional" else None
        roles = self.declare(s)
        self.players = build_players(cfg, roles, {"G": NetSpec(x, y), "D": NetSpec(y, (), cond)})
        self.phases = ((Phase("D", ("D",), ("D",)),) if s.gan != "none" else ()) + (Phase("G", ("G",), ("G",)),)
        self.optimizers = optimizer_specs(cfg, {name: (name,) for name in roles.optimizers})
        self.channels = y[0]

    def _judge(self, D: Any, out: Tensor, x: Tensor) -> Tensor:
        return D(out, x) if self.gan == "conditional" else D(out)

    def _verdicts(self, real: Tensor, fake: Tensor) -> Stats:
        if self.loss_fn.probabilistic:
            return {"D(x)": torch.sigmoid(real).mean(), "D(G(z))": torch.sigmoid(fake).mean()}
        return {"critic(x)": real.mean(), "critic(G(z))": fake.mean()}

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, target = batch["x"], batch["x_b"]
        if phase == "D":
            D = players["D"]
            with torch.no_grad():
                fake = players["G"](x)
            real_out, fake_out = self._judge(D, target, x), self._judge(D, fake, x)
            loss = 0.5 * self.loss_fn.d(real_out, fake_out)
            return loss, {"loss_D": loss.detach(), **self._verdicts(real_out.detach(), fake_out.detach())}
        fake = players["G"](x)
        l1 = F.l1_loss(fake, target)  # mean |G(x) - x_b| over pixels in [-1, 1]
        stats: Stats = {"l1": l1.detach()}
        loss = self.l1 * l1
        if self.gan != "none":
            adversarial = self.loss_fn.g(self._judge(players["D"], fake, x))
            loss = loss + adversarial
            stats["loss_G_gan"] = adversarial.detach()
        stats["loss_G"] = loss.detach()
        return loss, stats

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        if source is None:
            raise UserError("pix2pix translates images: it needs input images (gankit translate RUN INPUT)")
        return {"x": source["x"][:n], "target": source["x_b"][:n]}

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        panels = {"input": display(inputs["x"], self.channels), "fake": players["G"](inputs["x"])}
        if "target" in inputs:
            panels["target"] = inputs["target"]
        return panels
