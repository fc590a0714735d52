"""The classic GAN game (Goodfellow et al. 2014) and its regularised relatives, unconditional
or class-conditional.

Players: G (generator) and D (discriminator), both from `nets`, untrained.
One step: D (n_critic times, each on a fresh real batch), then G.
    D phase: minimise loss.d(D(x, y), D(G(z, y), y)) + lambda * penalty(D, x, G(z))   G not differentiated
    G phase: minimise loss.g(D(G(z, y), y))                                            D frozen
The loss (ns, minimax, wgan, hinge, lsgan) and the penalty (none, gp, gp-one-sided, dragan, r1)
are registered by name; game.clip > 0 clamps D's weights after each D step (WGAN), and
game.penalty_every = k > 1 moves the penalty into its own phase "Dreg" run every k steps with
weight k * lambda (lazy regularisation, Karras et al. 2020). game.pack = k > 1 makes D judge k
samples at once, all real or all fake (PacGAN, Lin et al. 2018), which penalises mode collapse.
game.instance_noise = s > 0 adds N(0, s_t^2) noise to everything D sees, real and fake, with s_t
decaying linearly from s to 0 at game.instance_noise_until * train.steps (Sonderby et al. 2016;
Arjovsky & Bottou 2017): the noise makes the supports of data and fakes overlap, so D cannot
separate them perfectly and G gets gradients towards modes it has not reached yet.
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
from gankit.nets.base import NetSpec, sample_noise
from gankit.registry import GAMES, LOSSES, NETS, PENALTIES


def build_players(cfg: Config, data: TensorData, roles: tuple[str, ...] = ("G", "D"),
                  pack: int = 1) -> tuple[dict[str, nn.Module], int]:
    """G and D from the config's nets section; returns (players, num_classes used). With pack = k, D's
    input is k examples stacked along the first feature axis (channels for images)."""
    num_classes = 0
    if cfg.game.conditional:
        if data.y is None or data.num_classes < 2:
            raise UserError(f"game.conditional=true needs class labels, but dataset {cfg.data.name!r} has none")
        num_classes = data.num_classes
    spec = NetSpec(data_shape=data.shape, z_dim=cfg.nets.z_dim, num_classes=num_classes)
    packed = NetSpec(data_shape=(data.shape[0] * pack, *data.shape[1:]), z_dim=cfg.nets.z_dim, num_classes=num_classes)
    players = {role: NETS.get(getattr(cfg.nets, role).arch)(role, getattr(cfg.nets, role), packed if role == "D" else spec)
               for role in roles}
    return players, num_classes


def check_packing(cfg: Config) -> None:
    if cfg.game.pack > 1 and cfg.game.conditional:
        raise UserError("game.pack > 1 (PacGAN) is for unconditional games; set game.conditional=false or game.pack=1")
    if cfg.train.batch_size % cfg.game.pack:
        raise UserError(f"train.batch_size={cfg.train.batch_size} must be a multiple of game.pack={cfg.game.pack}")


def check_penalised_critic(cfg: Config) -> None:
    """A gradient penalty treats each example's gradient separately; batch norm in D mixes the
    examples of a batch, so the penalty would constrain the wrong function (Gulrajani et al. 2017, 4)."""
    if cfg.game.penalty != "none" and cfg.nets.D.norm == "batch":
        raise UserError(f"game.penalty={cfg.game.penalty} needs a D without batch norm; "
                        "set nets.D.norm=layer or nets.D.norm=none")


@GAMES.register("gan")
class GanGame:
    """GAN: G against D with a registered adversarial loss and an optional D regulariser."""

    ema_players = ("G",)

    def __init__(self, cfg: Config, data: TensorData) -> None:
        check_penalised_critic(cfg)
        check_packing(cfg)
        self.pack = cfg.game.pack
        self.players, self.num_classes = build_players(cfg, data, pack=self.pack)
        self.G, self.D = self.players["G"], self.players["D"]
        self.loss_fn = LOSSES.get(cfg.game.loss)
        self.critic_kind = "probability" if self.loss_fn.probabilistic else "score"
        self.penalty = PENALTIES.get(cfg.game.penalty)
        self.z_dim, self.z_dist = cfg.nets.z_dim, cfg.nets.z_dist
        g = cfg.game
        self.noise_std, self.noise_steps = g.instance_noise, g.instance_noise_until * cfg.train.steps
        self.noise_now = self.noise_std
        lazy = g.penalty != "none" and g.penalty_every > 1
        self.inline_weight = 0.0 if g.penalty == "none" or lazy else g.penalty_weight
        self.lazy_weight = g.penalty_weight * g.penalty_every if lazy else 0.0
        self.phases = (
            Phase("D", optimizers=("D",), trains=("D",), repeat=g.n_critic, clip=g.clip),
            *([Phase("Dreg", optimizers=("D",), trains=("D",), every=g.penalty_every, clip=g.clip)] if lazy else []),
            Phase("G", optimizers=("G",), trains=("G",)),
        )
        self.optimizers = {
            "G": OptimizerSpec(("G",), cfg.optim.G),
            "D": OptimizerSpec(("D",), cfg.optim.D),
        }
        self._phase_loss = {"D": self._d_loss, "Dreg": self._d_reg_loss, "G": self._g_loss}

    def _labels(self, batch: Batch) -> Tensor | None:
        return batch["y"] if self.num_classes else None

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return sample_noise(self.z_dist, n, self.z_dim, device=like.device)

    def begin_step(self, step: int) -> None:
        self.noise_now = self.noise_std * max(0.0, 1.0 - step / max(self.noise_steps, 1.0))

    def _judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's outputs (on noisy inputs while instance noise lasts); with packing, on groups of `pack`
        consecutive examples (all real or all fake), stacked along the first feature axis as in
        PacGAN: (N, C, ...) -> (N / pack, pack * C, ...)."""
        if self.noise_now > 0:
            x = x + self.noise_now * torch.randn_like(x)
        if self.pack > 1:
            x = x.reshape(len(x) // self.pack, self.pack * x.shape[1], *x.shape[2:])
        return self.D(x, y)

    def _fakes(self, x: Tensor, y: Tensor | None) -> Tensor:
        with torch.no_grad():
            return self.G(self._noise(len(x), x), y)

    def _d_loss(self, batch: Batch) -> tuple[Tensor, Stats]:
        x, y = batch["x"], self._labels(batch)
        fake = self._fakes(x, y)
        real_out, fake_out = self._judge(x, y), self._judge(fake, y)
        adversarial = self.loss_fn.d(real_out, fake_out)
        stats = {"loss_D": adversarial.detach(), **self._verdicts(real_out.detach(), fake_out.detach())}
        loss = adversarial
        if self.inline_weight:
            penalty = self.penalty(lambda v: self._judge(v, y), x, fake)
            loss = loss + self.inline_weight * penalty
            stats["penalty"] = penalty.detach()
        return loss, stats

    def _verdicts(self, real_out: Tensor, fake_out: Tensor) -> Stats:
        """What D says of real and fake data: probabilities for logistic losses (-> 1/2 at the
        equilibrium), raw critic scores and their gap otherwise (the W1 estimate for WGAN)."""
        if self.loss_fn.probabilistic:
            return {"D(x)": torch.sigmoid(real_out).mean(), "D(G(z))": torch.sigmoid(fake_out).mean()}
        real, fake = real_out.mean(), fake_out.mean()
        return {"critic(x)": real, "critic(G(z))": fake, "critic_gap": real - fake}

    def _d_reg_loss(self, batch: Batch) -> tuple[Tensor, Stats]:
        x, y = batch["x"], self._labels(batch)
        penalty = self.penalty(lambda v: self._judge(v, y), x, self._fakes(x, y))
        return self.lazy_weight * penalty, {"penalty": penalty.detach()}

    def _g_loss(self, batch: Batch) -> tuple[Tensor, Stats]:
        x, y = batch["x"], self._labels(batch)
        fake_logits = self._judge(self.G(self._noise(len(x), x), y), y)
        loss = self.loss_fn.g(fake_logits)
        return loss, {"loss_G": loss.detach()}

    def loss(self, phase: str, batch: Batch) -> tuple[Tensor, Stats]:
        return self._phase_loss[phase](batch)

    def fixed_inputs(self, n: int, generator: torch.Generator, label: int | None = None) -> dict[str, Tensor]:
        inputs = {"z": sample_noise(self.z_dist, n, self.z_dim, generator=generator)}
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
        if self.num_classes or self.pack > 1:
            return None  # D's verdict depends on the class, or on a group of points: no surface to draw
        out = players["D"](x)
        return torch.sigmoid(out) if self.loss_fn.probabilistic else out
