"""The classic GAN game (Goodfellow et al. 2014), unconditional or class-conditional.

Players: G (generator) and D (discriminator), both from `nets`, untrained.
One step: D (n_critic times, each on a fresh real batch), then G.
    D phase: minimise loss.d(D(x, y), D(G(z, y), y))     G is not differentiated
    G phase: minimise loss.g(D(G(z, y), y))              D's weights are frozen
With game.conditional, G embeds the label (concatenated to z) and D is a projection
discriminator; fakes are asked for the labels of the real batch, so the class
frequencies of real and fake batches match.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.games.base import Batch, OptimizerSpec, Phase, Stats
from gankit.nets.base import NetSpec
from gankit.registry import GAMES, LOSSES, NETS


def build_players(cfg: Config, data: TensorData) -> tuple[dict[str, nn.Module], int]:
    """G and D from the config's nets section; returns (players, num_classes used)."""
    num_classes = 0
    if cfg.game.conditional:
        if data.y is None or data.num_classes < 2:
            raise UserError(f"game.conditional=true needs class labels, but dataset {cfg.data.name!r} has none")
        num_classes = data.num_classes
    spec = NetSpec(data_shape=data.shape, z_dim=cfg.nets.z_dim, num_classes=num_classes)
    players = {role: NETS.get(getattr(cfg.nets, role).arch)(role, getattr(cfg.nets, role), spec) for role in ("G", "D")}
    return players, num_classes


@GAMES.register("gan")
class GanGame:
    """GAN: G against D with a registered adversarial loss (ns, minimax, ...)."""

    ema_players = ("G",)

    def __init__(self, cfg: Config, data: TensorData) -> None:
        self.players, self.num_classes = build_players(cfg, data)
        self.G, self.D = self.players["G"], self.players["D"]
        self.loss_fn = LOSSES.get(cfg.game.loss)
        self.z_dim = cfg.nets.z_dim
        self.phases = (
            Phase("D", optimizers=("D",), trains=("D",), repeat=cfg.game.n_critic),
            Phase("G", optimizers=("G",), trains=("G",)),
        )
        self.optimizers = {
            "G": OptimizerSpec(("G",), cfg.optim.G),
            "D": OptimizerSpec(("D",), cfg.optim.D),
        }
        self._phase_loss = {"D": self._d_loss, "G": self._g_loss}

    def _labels(self, batch: Batch) -> Tensor | None:
        return batch["y"] if self.num_classes else None

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return torch.randn(n, self.z_dim, device=like.device)

    def _d_loss(self, batch: Batch) -> tuple[Tensor, Stats]:
        x, y = batch["x"], self._labels(batch)
        with torch.no_grad():
            fake = self.G(self._noise(len(x), x), y)
        real_logits, fake_logits = self.D(x, y), self.D(fake, y)
        loss = self.loss_fn.d(real_logits, fake_logits)
        stats = {
            "loss_D": loss.detach(),
            "D(x)": torch.sigmoid(real_logits.detach()).mean(),
            "D(G(z))": torch.sigmoid(fake_logits.detach()).mean(),
        }
        return loss, stats

    def _g_loss(self, batch: Batch) -> tuple[Tensor, Stats]:
        x, y = batch["x"], self._labels(batch)
        fake_logits = self.D(self.G(self._noise(len(x), x), y), y)
        loss = self.loss_fn.g(fake_logits)
        return loss, {"loss_G": loss.detach()}

    def loss(self, phase: str, batch: Batch) -> tuple[Tensor, Stats]:
        return self._phase_loss[phase](batch)

    def fixed_inputs(self, n: int, generator: torch.Generator, label: int | None = None) -> dict[str, Tensor]:
        inputs = {"z": torch.randn(n, self.z_dim, generator=generator)}
        if self.num_classes:
            if label is not None and not 0 <= label < self.num_classes:
                raise UserError(f"--label {label} is out of range; this model has classes 0..{self.num_classes - 1}")
            # Without a label, cycle through the classes so a grid shows each class in turn.
            labels = torch.full((n,), label) if label is not None else torch.arange(n) % self.num_classes
            inputs["y"] = labels.long()
        elif label is not None:
            raise UserError("--label needs a class-conditional model (game.conditional=true)")
        return inputs

    def generate(self, players: Mapping[str, nn.Module], inputs: Mapping[str, Tensor]) -> Tensor:
        return players["G"](inputs["z"], inputs.get("y"))

    def critic(self, players: Mapping[str, nn.Module], x: Tensor) -> Tensor | None:
        if self.num_classes:
            return None  # D's verdict depends on the class: no single decision surface to draw
        return torch.sigmoid(players["D"](x))
