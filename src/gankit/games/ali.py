"""ALI (Dumoulin et al. 2017) and BiGAN (Donahue et al. 2017): G learns z -> x, an encoder E learns x -> z,
and D judges pairs: (x, E(x)) from the data against (G(z), z) from the generator.

Players: E (encoder), G (generator), D (joint discriminator D(x, z), nets/encoder.py), all untrained.
One step is one phase, EGD: one forward pass of D on both kinds of pair, and a loss for each side:
    E and G: minimise loss.g(D(G(z), z)) + loss.encoder(D(x, E(x)))
    D:       minimise loss.d(D(x, E(x)), D(G(z), z))  + lambda * penalty on the (x, z) pairs
Each loss is differentiated for its own players only (games/base.py `backward`), and the three
optimisers step together. This is the ALI paper's code: both sides are updated from one forward pass
on the same samples, at the same parameters. Running E and G first and then D on the same pairs gives
the same gradients (D has not moved in between), at the price of a second forward pass of D.
With game.n_critic = k > 1, D then takes k - 1 more steps alone (phase D), each on fresh pairs.
For ns this is the label swap of the ALI paper: E and G minimise softplus(-D(G(z), z)) + softplus(D(x, E(x))),
so each side's pairs are pushed to look like the other's. At the optimum the two joint distributions
q(x) q(z | x) and p(z) p(x | z) match, and E inverts G: G(E(x)) = x on the data (BiGAN, theorem 2).

game.encoder = stochastic (ALI): E outputs (mu, log sigma) of q(z | x) and z = mu + sigma * eps is drawn
with the reparameterisation trick, so gradients reach E through the sample; deterministic (BiGAN):
z = E(x). Uses of a trained E (encode, reconstruct, interpolate, the linear probe) take z = mu, the mean.
game.instance_noise = s > 0 adds N(0, s_t^2) to the x of every pair D judges, s_t falling linearly to 0 at
game.instance_noise_until * train.steps, as in the gan game (it kept ring8's weak modes alive there).
game.cycle_x / game.cycle_z > 0 is ALICE (Li et al. 2017) with explicit cycle consistency: E and G also
minimise cycle_x * mean (G(z_hat) - x)^2 + cycle_z * mean (E(G(z)) - z)^2 (the ALICE toy code's l2 terms,
weights 1 and 1 there), which bounds the conditional entropies that ALI leaves free, so E and G invert each
other on the data and no data mode can be left without a z that G sends there. game.cycle_until = u > 0
lets both weights fall linearly to 0 at u * train.steps (0: constant).
game.unary = w > 0 adds BigBiGAN's unary terms (Donahue & Simonyan 2019, section 3): D also scores x alone
(s_x, a linear head on its x branch) and z alone (s_z, on its z branch), and every loss above is taken on
s_xz + w * (s_x and s_z): D minimises loss.d on each of the three, E and G the generator side of each (G's
loss leaves out s_z of the prior's z, E's s_x of the data's x: terms with no gradient for them). The x term is
a GAN's game on x: G gets the marginal signal that a joint D gives only through the pair.
Penalties act on the pair: x and z are flattened and joined, so a gradient penalty interpolates whole
pairs and R1 flattens D around the data's pairs in x and z alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
from torch import Tensor

from gankit import batch_part
from gankit.config import Config, NetConfig, allowed
from gankit.data.base import DataSpec
from gankit.errors import UserError
from gankit.games.base import (BaseGame, Batch, Panels, Phase, PlayerDecl, Players, Roles, Stats, build_players,
                               instance_noise_at, optimizer_specs, with_instance_noise)
from gankit.nets.base import ConditionSpec, NetSpec, sample_noise
from gankit.registry import GAMES, LOSSES, PENALTIES

Verdicts = Tensor | tuple[Tensor, Tensor, Tensor]  # D's pair score, or (s_xz, s_x, s_z) with the unary terms
LOG_SIGMA = (-8.0, 4.0)  # clamp of the stochastic encoder's log sigma: exp stays finite early in training


@dataclass
class AliSettings:
    """[game] of the ali game."""

    loss: str = "ns"  # registered adversarial loss: ns | minimax | wgan | hinge | lsgan
    encoder: str = field(default="stochastic", metadata=allowed(lambda v: v in ("stochastic", "deterministic"),
                                                                "stochastic (ALI) or deterministic (BiGAN)"))
    n_critic: int = field(default=1, metadata=allowed(lambda v: 1 <= v <= 1000, "an integer in [1, 1000]"))
    penalty: str = "none"  # regulariser of D on (x, z) pairs: none | gp | gp-one-sided | dragan | r1
    penalty_weight: float = field(default=10.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"))
    # annealed instance noise on the x of every pair D sees, as in the gan game (games/gan.py)
    instance_noise: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e3, "a number in [0, 1000] (0 = none)"))
    instance_noise_until: float = field(default=0.5, metadata=allowed(lambda v: 0 < v <= 1, "a number in (0, 1]"))
    # ALICE (Li et al. 2017), explicit cycle consistency: E and G also minimise
    # cycle_x * mean (G(E(x)) - x)^2 + cycle_z * mean (E(G(z)) - z)^2; 0 and 0 is plain ALI / BiGAN
    cycle_x: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"))
    cycle_z: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"))
    # > 0: both cycle weights fall linearly to 0 at cycle_until * train.steps, to leave the last steps to plain
    # ALI (measured on grid25, seed 3: fading them by step 10,000 of 20,000 lost 5 modes); 0: constant
    cycle_until: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1,
                                                             "a number in [0, 1] (0 = constant)"))
    # BigBiGAN's unary terms (Donahue & Simonyan 2019): weight of D's scores of x alone and z alone (the paper 1)
    unary: float = field(default=0.0, metadata=allowed(lambda v: 0 <= v <= 1e6, "a number in [0, 1e6] (0 = none)"))


@GAMES.register("ali")
class AliGame(BaseGame):
    """ALI / BiGAN: E, G and a D of (x, z) pairs."""

    Settings = AliSettings
    ema_players = ("G", "E")

    @classmethod
    def declare(cls, settings: Any) -> Roles:
        return Roles({"E": PlayerDecl("encoder"), "G": PlayerDecl("generator", NetConfig(norm="batch")),
                      "D": PlayerDecl("joint", NetConfig(dropout=0.2))}, ("E", "G", "D"))

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        s: AliSettings = cfg.game.settings
        LOSSES.get(s.loss), PENALTIES.get(s.penalty)  # unknown names: one line listing the known ones
        if s.penalty != "none" and cfg.nets.players["D"].norm == "batch":
            raise UserError(f"game.penalty={s.penalty} needs a D without batch norm; set nets.D.norm=layer or none")
        self.z_dim, self.z_dist = cfg.nets.z_dim, cfg.nets.z_dist
        self.stochastic = s.encoder == "stochastic"
        x = spec["x"].shape
        self.x_shape = x
        k = self.z_dim * (2 if self.stochastic else 1)
        self.players = build_players(cfg, self.declare(s), {
            "E": NetSpec(x, (k,)), "G": NetSpec((self.z_dim,), x),
            "D": NetSpec(x, (), ConditionSpec("latent", self.z_dim, unary=s.unary > 0))})
        self.loss_fn, self.loss_name = LOSSES.get(s.loss), s.loss
        self.critic_kind = "probability" if self.loss_fn.probabilistic else "score"
        self.penalty = PENALTIES.get(s.penalty)
        self.penalty_weight = 0.0 if s.penalty == "none" else s.penalty_weight
        self.noise_std, self.noise_steps = s.instance_noise, s.instance_noise_until * cfg.train.steps
        self.noise_now = self.noise_std
        self.cycle_x, self.cycle_z = s.cycle_x, s.cycle_z
        self.cycle_steps = s.cycle_until * cfg.train.steps
        self.cycle_now = 1.0
        self.unary = s.unary
        self.phases = (Phase("EGD", optimizers=("E", "G", "D"), trains=("E", "G", "D")),
                       *([Phase("D", optimizers=("D",), trains=("D",), repeat=s.n_critic - 1)] if s.n_critic > 1 else []))
        self.optimizers = optimizer_specs(cfg, {"E": ("E",), "G": ("G",), "D": ("D",)})

    # --- the encoder ---------------------------------------------------------------------------------
    def posterior(self, E: Any, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(mu, log sigma) of q(z | x); log sigma is None for a deterministic encoder."""
        out = E(x)
        if not self.stochastic:
            return out, None
        mu, log_sigma = out.chunk(2, dim=1)
        return mu, log_sigma.clamp(*LOG_SIGMA)

    def encode(self, E: Any, x: Tensor) -> Tensor:
        """z for x: the mean of q(z | x) (deterministic uses of a trained encoder)."""
        return self.posterior(E, x)[0]

    def infer(self, players: Players, x: Tensor) -> Tensor:
        """x -> z with the run's own players (the encoder's mean): what evaluation and `gankit encode` call, so
        they never name this game's players."""
        return self.encode(players["E"], x)

    def _draw_z(self, E: Any, x: Tensor) -> Tensor:
        mu, log_sigma = self.posterior(E, x)
        return mu if log_sigma is None else mu + log_sigma.exp() * batch_part.randn_like(mu)

    # --- the pair critic -----------------------------------------------------------------------------
    def begin_step(self, step: int) -> None:
        self.noise_now = instance_noise_at(self.noise_std, self.noise_steps, step)
        # the same linear fall as the instance noise's (a function of the step alone: exact resume)
        self.cycle_now = instance_noise_at(1.0, self.cycle_steps, step) if self.cycle_steps else 1.0

    def _seen(self, x: Tensor) -> Tensor:
        """x as D sees it: with N(0, s_t^2) added while the instance noise lasts (E and G never see it)."""
        return with_instance_noise(x, self.noise_now)

    def _judge(self, D: Any, x: Tensor, z: Tensor) -> Verdicts:
        """D's verdicts on pairs: (N,), or with the unary terms (s_xz, s_x, s_z), three (N,) tensors."""
        return D(x, z, unary=True) if self.unary else D(x, z)

    def _pair_scores(self, out: Verdicts) -> Tensor:
        return out[0] if isinstance(out, tuple) else out

    def _summed(self, fn: Any, *outs: Verdicts, unary: tuple[int, ...] = (1, 2)) -> Tensor:
        """fn on the pair's scores, plus unary * fn on the x-alone and on the z-alone scores (BigBiGAN):
        loss = fn(s_xz) + w fn(s_x) + w fn(s_z). E and G leave out the term that cannot move them
        (unary=(1,): G's fakes' z is the prior's; (2,): E's pairs' x is the data's): the same gradients, less work."""
        if not self.unary:
            return fn(*outs)
        alone = sum(fn(*(o[k] for o in outs)) for k in unary)
        return fn(*(o[0] for o in outs)) + self.unary * alone

    def _pack(self, x: Tensor, z: Tensor) -> Tensor:
        return torch.cat([x.flatten(1), z], dim=1)

    def _judge_packed(self, D: Any, v: Tensor) -> Tensor:
        split = v.shape[1] - self.z_dim
        return D(v[:, :split].reshape(len(v), *self.x_shape), v[:, split:])

    def _noise(self, n: int, like: Tensor) -> Tensor:
        return sample_noise(self.z_dist, n, self.z_dim, device=like.device)

    def _d_terms(self, D: Any, x: Tensor, z_hat: Tensor, fake: Tensor, z: Tensor, real_out: Verdicts,
                 fake_out: Verdicts) -> tuple[Tensor, Stats]:
        """D's loss on its verdicts, plus the penalty on the pairs (detached: the penalty trains D alone)."""
        adversarial = self._summed(self.loss_fn.d, real_out, fake_out)
        real_out, fake_out = self._pair_scores(real_out), self._pair_scores(fake_out)
        loss, stats = adversarial, {"loss_D": adversarial.detach(), **self._verdicts(real_out, fake_out)}
        if self.penalty_weight:
            penalty = self.penalty(lambda v: self._judge_packed(D, v), self._pack(x, z_hat.detach()),
                                   self._pack(fake.detach(), z))
            loss = loss + self.penalty_weight * penalty
            stats["penalty"] = penalty.detach()
        return loss, stats

    def _d_loss(self, batch: Batch, players: Players) -> tuple[Tensor, Stats]:
        """D alone on fresh pairs: the n_critic - 1 extra D steps, or phase D run by hand."""
        D, x = players["D"], batch["x"]
        with torch.no_grad():
            z_hat = self._draw_z(players["E"], x)
            z = self._noise(len(x), x)
            fake = players["G"](z)
        x, fake = self._seen(x), self._seen(fake)
        return self._d_terms(D, x, z_hat, fake, z, self._judge(D, x, z_hat), self._judge(D, fake, z))

    def _verdicts(self, real_out: Tensor, fake_out: Tensor) -> Stats:
        real_out, fake_out = real_out.detach(), fake_out.detach()
        if self.loss_fn.probabilistic:
            return {"D(x,E(x))": torch.sigmoid(real_out).mean(), "D(G(z),z)": torch.sigmoid(fake_out).mean()}
        return {"critic(x,E(x))": real_out.mean(), "critic(G(z),z)": fake_out.mean(),
                "critic_gap": real_out.mean() - fake_out.mean()}

    def _egd_loss(self, batch: Batch, players: Players) -> tuple[dict[str, Tensor], Stats]:
        x, D = batch["x"], players["D"]
        z = self._noise(len(x), x)
        z_hat, fake = self._draw_z(players["E"], x), players["G"](z)
        cycle, cycle_stats = self._cycle(players, x, z_hat, fake, z)
        x, fake = self._seen(x), self._seen(fake)
        real_out, fake_out = self._judge(D, x, z_hat), self._judge(D, fake, z)
        loss_g = self._summed(self.loss_fn.g, fake_out, unary=(1,))  # G moves s_x of its fakes, not s_z of the prior
        loss_e = self._summed(self.loss_fn.encoder, real_out, unary=(2,))  # E moves s_z of its codes, not s_x of data
        loss_d, stats = self._d_terms(D, x, z_hat, fake, z, real_out, fake_out)
        loss_eg = loss_g + loss_e + cycle
        return {"E": loss_eg, "G": loss_eg, "D": loss_d}, {"loss_G": loss_g.detach(), "loss_E": loss_e.detach(),
                                                           **cycle_stats, **stats}

    def _cycle(self, players: Players, x: Tensor, z_hat: Tensor, fake: Tensor,
               z: Tensor) -> tuple[Tensor | float, Stats]:
        """ALICE's explicit cycle terms on clean pairs: x -> z_hat -> G(z_hat) against x, and z -> G(z) -> E
        against z (z drawn from q(z | G(z)) for a stochastic E, as in the ALICE code). Both train E and G."""
        total: Tensor | float = 0.0
        stats: Stats = {}
        w_x, w_z = self.cycle_x * self.cycle_now, self.cycle_z * self.cycle_now
        if w_x:
            rec_x = torch.mean((players["G"](z_hat) - x) ** 2)
            total, stats["cycle_x"] = total + w_x * rec_x, rec_x.detach()
        if w_z:
            rec_z = torch.mean((self._draw_z(players["E"], fake) - z) ** 2)
            total, stats["cycle_z"] = total + w_z * rec_z, rec_z.detach()
        return total, stats

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[Tensor | dict[str, Tensor], Stats]:
        return {"D": self._d_loss, "EGD": self._egd_loss}[phase](batch, players)

    # --- sampling ------------------------------------------------------------------------------------
    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        self.check_conditions(conditions)
        return {"z": sample_noise(self.z_dist, n, self.z_dim, generator=generator)}

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        return {"fake": players["G"](inputs["z"])}

    def live_surface(self, players: Players, grid: Tensor) -> tuple[Tensor | None, str]:
        # D judges (x, z) pairs; over the plane, the pair a real point at x would come with: (x, E's mean code)
        return players["D"](grid, self.encode(players["E"], grid)), "D(x, E(x)), E(x) the encoder's mean"

    def generator_loss(self, players: Players, fake: Tensor, inputs: Mapping[str, Tensor],
                       real: Tensor) -> tuple[Tensor | None, str]:
        return self.loss_fn.g(players["D"](fake, inputs["z"])), f"the {self.loss_name} G loss on D(G(z), z) (phase EGD)"

    def reconstruct(self, players: Players, x: Tensor) -> Tensor:
        """G(E(x)) with z = E's mean: how well E inverts G on x."""
        return self.generate(players, {"z": self.infer(players, x)})["fake"]
