"""The game protocol: what the training loop needs from a method, and nothing more.

A game declares its players (named networks, each of a net kind), its optimisers and the phases
of one training step; the loop owns the players and passes them in as a mapping on every call,
so it may wrap them (DDP, compile, CUDA graphs) and the game uses the wrappers. The loop steps
each phase's optimisers on the loss the game returns; it never mentions G or D.

    GAN / WGAN-GP:  players G, D;              phases D (repeat n_critic), G
    lazy R1:        phases D, Dreg (every 16 steps), G
    ALI / BiGAN:    players E, G, D;           phase EGD: one forward pass, a loss per optimiser
    pix2pix:        players G, D;              batch fields x, x_b (paired image); panels input | fake | target
    CycleGAN:       players G, F, D_X, D_Y;    domains x and x_b; image pool in the game's state_dict
    StackGAN II:    players G1 (frozen, init_from a stage-I run), G2, D;   panels stage1 | fake
    text-to-image:  the text encoder is the condition encoder inside G and D (nets/conditioning.py)

Settings: each game has its own settings dataclass (`Settings`), the [game] section of the config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol

import torch
from torch import Tensor, nn

from gankit import batch_part
from gankit.config import Config, NetConfig, OptimConfig
from gankit.data.base import DataSpec
from gankit.errors import UserError
from gankit.nets.base import ConditionSpec, NetSpec, build_net

Batch = Mapping[str, Tensor]  # data fields by name: "x", "y", "tags", "x_b", ... (decoded)
Players = Mapping[str, nn.Module]  # what the loop passes: its players, possibly wrapped
Panels = dict[str, Tensor]  # named outputs of generate(): "fake" is the sample; others are shown beside it
Stats = dict[str, Tensor]  # detached scalars; the loop reads them only when it logs
# What a phase minimises: one loss for all its optimisers, or a loss per optimiser name, when the players
# of one phase pull different ways on one forward pass (ALI: E and G fool the D that the same pass trains).
PhaseLoss = Tensor | Mapping[str, Tensor]


@dataclass(frozen=True)
class Phase:
    """One part of a training step.

    name:       shown in logs and error messages ("D", "G", "Dreg")
    optimizers: names of the optimisers stepped after the backward pass
    trains:     players whose parameters get gradients in this phase (the others are
                frozen for the phase, so no time is spent on their weight gradients)
    repeat:     times the phase runs per step, each on a fresh batch (n_critic)
    every:      run the phase only on steps divisible by this (lazy regularisation)
    clip:       > 0: after each optimiser step, clamp the trained players' weights to
                [-clip, clip] (WGAN's crude Lipschitz constraint)
    """

    name: str
    optimizers: tuple[str, ...]
    trains: tuple[str, ...]
    repeat: int = 1
    every: int = 1
    clip: float = 0.0


@dataclass(frozen=True)
class OptimizerSpec:
    """Which players one optimiser updates, with which settings."""

    players: tuple[str, ...]
    config: OptimConfig


@dataclass(frozen=True)
class PlayerDecl:
    """A player as the game declares it: the kind of net it is, and its default config section.

    packaged: the player's weights come from an installed package (a pretrained text encoder): it
    is always frozen and in eval mode, and never written to a checkpoint (it is rebuilt from the
    package on load)."""

    kind: str
    net: NetConfig = field(default_factory=NetConfig)
    packaged: bool = False


@dataclass(frozen=True)
class Roles:
    """Every player and optimiser a game will have, known from its settings alone (before any data)."""

    players: dict[str, PlayerDecl]
    optimizers: tuple[str, ...]


class Game(Protocol):
    """What a registered game provides; built as `GameClass(config, data_spec)`."""

    Settings: ClassVar[type]  # the dataclass of its [game] section
    players: dict[str, nn.Module]  # built once; the loop takes them over and passes them back in
    phases: tuple[Phase, ...]
    optimizers: dict[str, OptimizerSpec]
    ema_players: tuple[str, ...]  # players whose moving average is kept (generators)
    conditions: dict[str, ConditionSpec]  # what `fixed_inputs` may be asked for: {"label": ...}
    critic_kind: str  # "probability" (critic() gives logits of a probability) or "score"
    reference_field: str  # the data field that the "fake" panel is compared with
    source_fields: tuple[str, ...]  # data fields fixed_inputs needs from real examples (a translation's input)

    @classmethod
    def declare(cls, settings: Any) -> Roles: ...

    def begin_step(self, step: int) -> None:
        """Called before each training step: schedules that live in the game (annealed instance
        noise) follow the step alone, so a resumed run continues them exactly."""
        ...

    def loss(self, phase: str, batch: Batch, players: Players) -> tuple[PhaseLoss, Stats]:
        """The loss to minimise in `phase` on `batch`, computed with `players` (or a loss for each of the
        phase's optimisers: see `backward`), and statistics to log."""
        ...

    def fixed_inputs(self, n: int, generator: torch.Generator, source: Batch | None = None,
                     **conditions: str | int) -> dict[str, Tensor]:
        """Inputs for n samples (z, conditions ...) drawn from `generator`. `conditions` fix what is
        asked (label=3); `source` holds real examples for inputs a game cannot invent (a paired image)."""
        ...

    def generate(self, players: Players, inputs: Mapping[str, Tensor]) -> Panels:
        """Named panels for `inputs` ({"fake": x} at least), using `players` (EMA copies when kept);
        a panel "target" is the ground truth of each fake (paired data), which metrics needing pairs use."""
        ...

    def critic(self, players: Players, x: Tensor) -> Tensor | None:
        """D's raw output on x (N,) for decision-surface pictures: a logit when critic_kind is
        "probability" (pictures apply the sigmoid), an unbounded score otherwise; None when the
        game has no single surface to show (a conditional or packed D, no D at all)."""
        ...

    def live_surface(self, players: Players, grid: Tensor) -> tuple[Tensor | None, str]:
        """The live 2D view's surface: (D's raw output on grid (K, 2), what it is) or (None, why not)."""
        ...

    def generator_loss(self, players: Players, fake: Tensor, inputs: Mapping[str, Tensor],
                       real: Tensor) -> tuple[Tensor | None, str]:
        """G's loss on given fakes (the live view's arrows are -N times its gradient), or (None, why not)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """The game's own state (an image pool, a private RNG): part of every checkpoint."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class BaseGame:
    """Defaults for the optional parts of the protocol."""

    ema_players: tuple[str, ...] = ()
    conditions: dict[str, ConditionSpec] = {}
    critic_kind = "probability"
    reference_field = "x"
    source_fields: tuple[str, ...] = ()

    def begin_step(self, step: int) -> None:
        pass

    @classmethod
    def migrate_config(cls, values: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
        """A run config written by an earlier gankit, with this game's player tables as they are named now
        (`written` is its [game] table as written). Most games never renamed a player."""
        return values

    def critic(self, players: Players, x: Tensor) -> Tensor | None:
        return None

    # ---- the live 2D view (train/live2d.py): called in eval mode, never while a phase trains -------------
    def live_surface(self, players: Players, grid: Tensor) -> tuple[Tensor | None, str]:
        """(D's raw output on 2D points grid (K, 2) -> (K,), what it is, e.g. "D(x)"), or (None, why there
        is no surface over x to draw). Like `critic`: a logit when critic_kind is "probability"."""
        out = self.critic(players, grid)
        return (out, "D(x)") if out is not None else (None, f"{type(self).__name__} has no single critic of x")

    def generator_loss(self, players: Players, fake: Tensor, inputs: Mapping[str, Tensor],
                       real: Tensor) -> tuple[Tensor | None, str]:
        """(G's loss on the given fakes (N, ...) made from `inputs`, a mean over them, and what it is), or
        (None, why not): the live view draws -N d loss / d fake_i as the pull on each fake. Without the
        loss's random parts (instance noise), so the arrows are a function of the weights. `real` is a
        data sample, for losses that compare fakes with data (Sinkhorn)."""
        return None, f"{type(self).__name__} does not define G's loss on given points (generator_loss)"

    def state_dict(self) -> dict[str, Any]:
        return {}

    def extra_memory(self, batch_size: int) -> int:
        """Bytes a step needs beyond its players' layer outputs (a cost matrix a library builds), for the
        memory estimate of train/budget.py."""
        return 0

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise UserError(f"checkpoint holds game state ({', '.join(state)}) that {type(self).__name__} does not keep")

    def check_conditions(self, conditions: Mapping[str, Any]) -> None:
        unknown = sorted(set(conditions) - set(self.conditions))
        if unknown:
            takes = (f"it takes {', '.join(self.conditions)}" if self.conditions else
                     "it is unconditional (train with game.conditional=true for a class-conditional model)")
            raise UserError(f"this model cannot be asked for {unknown[0]}={conditions[unknown[0]]}; {takes}")


def build_players(cfg: Config, roles: Roles, specs: Mapping[str, NetSpec]) -> dict[str, nn.Module]:
    """Each declared player's net, of its declared kind and its config section's arch, in the
    order the game declared them (their initial weights come from torch's seeded RNG in that order)."""
    return {name: build_net(cfg.nets.players[name], decl.kind, specs[name]) for name, decl in roles.players.items()}


def optimizer_specs(cfg: Config, players_of: Mapping[str, tuple[str, ...]]) -> dict[str, OptimizerSpec]:
    """OptimizerSpecs from optimiser name -> the players it updates, with the config's [optim.NAME]."""
    return {name: OptimizerSpec(players, cfg.optim.players[name]) for name, players in players_of.items()}


def condition_of(spec: DataSpec, field_name: str) -> tuple[str, ConditionSpec]:
    """(user-facing key, ConditionSpec) for conditioning on data field `field_name`: a label field is
    asked for as label=..., tags as tags=..., a sentence embedding as text=..."""
    kinds = {"label": ("label", lambda f: f.classes), "multi_hot": ("tags", lambda f: f.classes),
             "embedding": ("text", lambda f: f.shape[-1]), "tokens": ("text", lambda f: f.classes)}
    f = spec.get(field_name)
    if f is None or f.kind not in kinds or (f.kind != "embedding" and f.classes < 2):
        have = ", ".join(f"{k} ({v.kind})" for k, v in spec.items())
        raise UserError(f"game.conditional=true needs class labels, tags or text in data field {field_name!r}; "
                        f"this dataset has: {have}")
    key, size = kinds[f.kind]
    return key, ConditionSpec(f.kind, size(f), f.names, f.shape)


def backward(loss: PhaseLoss, optimizers: Mapping[str, torch.optim.Optimizer]) -> Tensor:
    """Gradients of a phase's loss for the parameters of its optimisers; returns the detached total (what the
    divergence check watches). A mapping {optimiser: loss} differentiates each distinct loss once, for the
    parameters of the optimisers that minimise it alone: the players share one forward pass and its graph,
    and none gets another's gradient (D's loss leaves E and G untouched, and E and G's loss leaves D's)."""
    if isinstance(loss, Tensor):
        loss.backward()
        return loss.detach()
    missing = set(optimizers) - set(loss)
    if missing:
        raise ValueError(f"the phase's losses name no loss for optimiser(s) {sorted(missing)}")
    groups: dict[int, tuple[Tensor, list[Tensor]]] = {}
    for name, opt in optimizers.items():
        params = [p for group in opt.param_groups for p in group["params"] if p.requires_grad]
        groups.setdefault(id(loss[name]), (loss[name], []))[1].extend(params)
    parts = list(groups.values())
    for i, (part, params) in enumerate(parts):
        torch.autograd.backward(part, inputs=params, retain_graph=i < len(parts) - 1)
    return torch.stack([part.detach() for part, _ in parts]).sum()


def instance_noise_at(std: float, until_step: float, step: int) -> float:
    """Annealed instance noise (Sonderby et al. 2016): s_t falls linearly from `std` to 0 at `until_step`.
    A function of the step alone, so a resumed run continues the schedule exactly."""
    return std * max(0.0, 1.0 - step / max(until_step, 1.0))


def with_instance_noise(x: Tensor, std: float) -> Tensor:
    """x + N(0, std^2) for what D sees (this process's rows of the global draw under DDP)."""
    return x + std * batch_part.randn_like(x) if std > 0 else x
