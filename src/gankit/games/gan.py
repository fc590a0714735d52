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
With game.conditional, G and D are conditioned on the data field game.condition (class labels by
default; tags or a sentence embedding go through the same encoders): G concatenates the encoded
condition to z, D is a projection discriminator; fakes are asked for the conditions of the real
batch, so the condition frequencies of real and fake batches match. Text comes as word ids (the
learned encoder of nets/text.py) or as sentence embeddings; with several captions per example,
each step reads one at random. game.mismatch makes D matching-aware (GAN-CLS, Reed et al. 2016):
    D phase: loss.d( D(x, c),  [ D(G(z, c), c) ; D(x, c') ] )   c' = another example's condition
so a real image with the wrong text counts as fake (for ns: log D(x,c) + 1/2 [log(1 - D(G(z,c),c))
+ log(1 - D(x,c'))], the paper's weighting). game.augment_kl = w > 0 gives G conditioning
augmentation (StackGAN, Zhang et al. 2017) and adds w * KL(N(mu, sigma^2) || N(0, I)) to G's loss.
game.mode_seeking = w > 0 adds the mode-seeking term of MSGAN (Mao et al. 2019) to G's loss: G's
batch is drawn in pairs that share a condition, and
    L_ms = w / ( mean|G(z1, c) - G(z2, c)| / mean|z1 - z2| + 1e-5 )
so G pays for mapping different z of one condition to the same picture. A conditional G otherwise
can learn to ignore z: D's batch statistics see the variety between conditions, not within one.
game.auxiliary = w > 0 gives D an auxiliary head that predicts the condition (ACGAN; the tag
classifier of Jin et al. 2017); game.contrastive = w > 0 adds the image-text contrastive term of
XMC-GAN on D's projection scores (formulas in games/condition_terms.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import torch
from torch import Tensor

from gankit.config import Config, NetConfig, allowed
from gankit.data.base import DataSpec
from gankit.errors import UserError
from gankit.games.base import (BaseGame, Batch, Panels, Phase, PlayerDecl, Players, Roles, Stats, build_players,
                               condition_of, instance_noise_at, optimizer_specs, with_instance_noise)
from gankit.nets.base import NetSpec, sample_noise
from gankit.games.condition_terms import ConditionTerms
from gankit.nets.conditioning import ask, condition_kl, one_caption
from gankit.registry import GAMES, LOSSES, PENALTIES


@dataclass
class GanSettings:
    """[game] of the gan game."""

    loss: str = "ns"  # registered adversarial loss: ns (non-saturating) | minimax | wgan | hinge | lsgan
    conditional: bool = False  # condition G and D on the data field `condition`
    condition: str = "y"  # the data field conditioned on: class labels (y), tags, a text embedding
    n_critic: int = field(default=1, metadata=allowed(lambda v: 1 <= v <= 1000, "an integer in [1, 1000]"))  # D steps per G step
    pack: int = field(default=1, metadata=allowed(lambda v: v >= 1, "an integer >= 1 (1 = no packing)"))  # PacGAN
    penalty: str = "none"  # regulariser of D: none | gp | gp-one-sided | dragan | r1 (losses/penalties.py)
    penalty_weight: float = field(default=10.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"))
    penalty_every: int = field(default=1, metadata=allowed(lambda v: v >= 1, "an integer >= 1"))  # lazy: every k
    clip: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = no clipping)"))
    instance_noise: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = none)"))
    instance_noise_until: float = field(default=0.5, metadata=allowed(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    mismatch: bool = False  # matching-aware D (GAN-CLS): real data with another example's condition is fake
    contrastive: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))
    auxiliary: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))
    mode_seeking: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))
    augment_kl: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = off)"))


def check_packing(cfg: Config) -> None:
    if cfg.game.pack > 1 and cfg.game.conditional:
        raise UserError("game.pack > 1 (PacGAN) is for unconditional games; set game.conditional=false or game.pack=1")
    if cfg.train.batch_size % cfg.game.pack:
        raise UserError(f"train.batch_size={cfg.train.batch_size} must be a multiple of game.pack={cfg.game.pack}")


def check_conditioning(cfg: Config) -> None:
    g = cfg.game.settings
    for key, on in (("mismatch", g.mismatch), ("augment_kl", g.augment_kl > 0), ("mode_seeking", g.mode_seeking > 0),
                    ("auxiliary", g.auxiliary > 0), ("contrastive", g.contrastive > 0)):
        if on and not g.conditional:
            raise UserError(f"game.{key} is for conditional games; set game.conditional=true or turn game.{key} off")


def check_penalised_critic(cfg: Config) -> None:
    """A gradient penalty treats each example's gradient separately; batch norm in D mixes the
    examples of a batch, so the penalty would constrain the wrong function (Gulrajani et al. 2017, 4)."""
    if cfg.game.penalty != "none" and cfg.nets.players["D"].norm == "batch":
        raise UserError(f"game.penalty={cfg.game.penalty} needs a D without batch norm; "
                        "set nets.D.norm=layer or nets.D.norm=none")


@GAMES.register("gan")
class GanGame(BaseGame):
    """GAN: G against D with a registered adversarial loss and an optional D regulariser."""

    Settings = GanSettings
    ema_players = ("G",)
    generators = ("G",)  # what the G phase trains (StackGAN's stage II: G2 alone, beside a frozen G1)

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        return Roles({"G": PlayerDecl("generator", NetConfig(norm="batch")), "D": PlayerDecl("discriminator")},
                     ("G", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        g: GanSettings = cfg.game.settings
        check_penalised_critic(cfg)
        check_packing(cfg)
        check_conditioning(cfg)
        LOSSES.get(g.loss), PENALTIES.get(g.penalty)  # unknown names: one line listing the known ones
        self.pack = g.pack
        self.cond_key, cond = condition_of(spec, g.condition) if g.conditional else ("", None)
        self.cond_field = g.condition if g.conditional else ""
        self.conditions = {self.cond_key: cond} if cond is not None else {}
        # A sentence cannot be invented from a name, and a tag set drawn at random is not one the data has:
        # without a prompt, the samples' texts and tag sets come from real examples.
        self.source_fields = (g.condition,) if cond is not None and cond.kind in ("embedding", "tokens", "multi_hot") else ()
        self.mismatch, self.kl_weight, self.ms_weight = g.mismatch, g.augment_kl, g.mode_seeking
        self.terms = ConditionTerms(g.auxiliary, g.contrastive)
        d_cond = replace(cond, aux=True) if cond is not None and g.auxiliary > 0 else cond
        g_cond = replace(cond, augment=True) if cond is not None and g.augment_kl > 0 else cond
        x = spec["x"].shape
        packed = (x[0] * self.pack, *x[1:])  # with pack = k, D sees k examples stacked on the first feature axis
        roles = self.declare(g)
        self.players = build_players(cfg, roles, self.net_specs(cfg, spec, g_cond, NetSpec(packed, (), d_cond)))
        self.loss_fn, self.loss_name = LOSSES.get(g.loss), g.loss
        self.critic_kind = "probability" if self.loss_fn.probabilistic else "score"
        self.penalty = PENALTIES.get(g.penalty)
        self.z_dim, self.z_dist = cfg.nets.z_dim, cfg.nets.z_dist
        self.noise_std, self.noise_steps = g.instance_noise, g.instance_noise_until * cfg.train.steps
        self.noise_now = self.noise_std
        lazy = g.penalty != "none" and g.penalty_every > 1
        self.inline_weight = 0.0 if g.penalty == "none" or lazy else g.penalty_weight
        self.lazy_weight = g.penalty_weight * g.penalty_every if lazy else 0.0
        self.phases = (
            Phase("D", optimizers=("D",), trains=("D",), repeat=g.n_critic, clip=g.clip),
            *([Phase("Dreg", optimizers=("D",), trains=("D",), every=g.penalty_every, clip=g.clip)] if lazy else []),
            Phase("G", optimizers=self.generators, trains=self.generators),
        )
        self.optimizers = optimizer_specs(cfg, {name: (name,) for name in roles.optimizers})
        self._phase_loss = {"D": self._d_loss, "Dreg": self._d_reg_loss, "G": self._g_loss}

    def net_specs(self, cfg: Config, spec: DataSpec, g_cond: Any, d_spec: NetSpec) -> dict[str, NetSpec]:
        """Each player's NetSpec (D's is given: every variant judges the data the same way)."""
        return {"G": NetSpec((cfg.nets.z_dim,), spec["x"].shape, g_cond), "D": d_spec}

    def draw(self, players: Players, z: Tensor, c: Tensor | None) -> Tensor:
        """Samples for noise z and conditions c (what every phase and `generate` call)."""
        return players["G"](z, c)

    def _condition(self, batch: Batch) -> Tensor | None:
        return one_caption(batch[self.cond_field]) if self.cond_field else None

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return sample_noise(self.z_dist, n, self.z_dim, device=like.device)

    def begin_step(self, step: int) -> None:
        self.noise_now = instance_noise_at(self.noise_std, self.noise_steps, step)

    def _judge(self, D: Any, x: Tensor, c: Tensor | None, heads: tuple[str, ...] = (), noise: bool = True) -> Any:
        """D's outputs (on noisy inputs while instance noise lasts, unless `noise` is off); with packing, on
        groups of `pack` consecutive examples (all real or all fake), stacked along the first feature axis
        as in PacGAN: (N, C, ...) -> (N / pack, pack * C, ...)."""
        if noise:
            x = with_instance_noise(x, self.noise_now)
        if self.pack > 1:
            x = x.reshape(len(x) // self.pack, self.pack * x.shape[1], *x.shape[2:])
        return D(x, c, heads=heads) if heads else D(x, c)

    def _fakes(self, players: Players, x: Tensor, c: Tensor | None) -> Tensor:
        with torch.no_grad():
            return self.draw(players, self._noise(len(x), x), c)

    def _d_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, c = batch["x"], self._condition(batch)
        D = players["D"]
        fake = self._fakes(players, x, c)
        real_out, fake_out = self._judge(D, x, c, self.terms.heads), self._judge(D, fake, c)
        if self.terms.heads:
            real_out, extra = real_out
            terms, term_stats = self.terms.loss("D", extra, c)
        stats = self._verdicts(real_out.detach(), fake_out.detach())
        if self.mismatch:  # the wrong condition for a real image: another example's, so no extra data is needed
            wrong_out = self._judge(D, x, c.roll(1, 0))
            stats["D(x,wrong)" if self.loss_fn.probabilistic else "critic(x,wrong)"] = (
                torch.sigmoid(wrong_out.detach()).mean() if self.loss_fn.probabilistic else wrong_out.detach().mean())
            fake_out = torch.cat([fake_out, wrong_out])
        adversarial = self.loss_fn.d(real_out, fake_out)
        stats = {"loss_D": adversarial.detach(), **stats}
        loss = adversarial
        if self.terms.heads:
            loss = loss + terms
            stats.update(term_stats)
        if self.inline_weight:
            penalty = self.penalty(lambda v: self._judge(D, v, c), x, fake)
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

    def _d_reg_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, c = batch["x"], self._condition(batch)
        D = players["D"]
        penalty = self.penalty(lambda v: self._judge(D, v, c), x, self._fakes(players, x, c))
        return self.lazy_weight * penalty, {"penalty": penalty.detach()}

    def _g_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        x, c = batch["x"], self._condition(batch)
        z = self._noise(len(x), x)
        if self.ms_weight and c is not None and len(x) >= 2:
            half = len(x) // 2  # pairs (i, i + half) share a condition
            c = torch.cat([c[:half], c[:half], c[2 * half:]])
        fake = self.draw(players, z, c)
        fake_logits = self._judge(players["D"], fake, c, self.terms.heads)
        if self.terms.heads:
            fake_logits, extra = fake_logits
        loss = self.loss_fn.g(fake_logits)
        stats = {"loss_G": loss.detach()}
        if self.terms.heads:
            terms, term_stats = self.terms.loss("G", extra, c)
            loss = loss + terms
            stats.update(term_stats)
        if self.ms_weight and c is not None and len(x) >= 2:
            ratio = ((fake[:half] - fake[half:2 * half]).abs().mean()
                     / (z[:half] - z[half:2 * half]).abs().mean())
            loss = loss + self.ms_weight / (ratio + 1e-5)
            stats["ms_ratio"] = ratio.detach()
        if self.kl_weight:
            kl = sum(condition_kl(players[name], c) for name in self.generators)
            loss = loss + self.kl_weight * kl
            stats["kl_CA"] = kl.detach()
        return loss, stats

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        return self._phase_loss[phase](batch, players)

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        inputs = {"z": sample_noise(self.z_dist, n, self.z_dim, generator=generator)}
        if self.source_fields and self.cond_key not in conditions:
            if source is None:
                raise UserError(f"this model draws from {self.cond_key} embeddings: it needs real examples to take them from")
            texts = source[self.cond_field][:n]
            inputs[self.cond_key] = texts[:, 0] if texts.ndim == 3 else texts  # the first caption of each
        elif self.conditions:
            # Without a condition asked, cycle through the classes (or tags) so a grid shows each in turn.
            inputs[self.cond_key] = ask(self.conditions[self.cond_key], n, conditions.get(self.cond_key))
        return inputs

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        return {"fake": self.draw(players, inputs["z"], inputs.get(self.cond_key) if self.cond_key else None)}

    def critic(self, players: Players, x: Tensor) -> Tensor | None:
        if self.conditions or self.pack > 1:
            return None  # D's verdict depends on the condition, or on a group of points: no surface to draw
        return players["D"](x)

    def live_surface(self, players: Players, grid: Tensor) -> tuple[Tensor | None, str]:
        if self.conditions:
            return None, "D judges (x, condition) pairs: its surface is another one for every condition"
        if self.pack > 1:
            return None, f"D judges groups of {self.pack} points at once (PacGAN), not single points"
        return players["D"](grid), "D(x)"

    def generator_loss(self, players: Players, fake: Tensor, inputs: Mapping[str, Tensor],
                       real: Tensor) -> tuple[Tensor | None, str]:
        if len(fake) % self.pack:
            return None, f"PacGAN's D judges groups of {self.pack}; {len(fake)} fakes do not split into them"
        c = inputs[self.cond_key] if self.cond_key else None
        what = f"the {self.loss_name} G loss on D(G(z){', c' if c is not None else ''})"
        if self.noise_std > 0:
            what += ", without instance noise"
        if self.ms_weight or self.kl_weight or self.terms.heads:
            what += " (the adversarial term only)"
        return self.loss_fn.g(self._judge(players["D"], fake, c, noise=False)), what
