"""The game protocol: what the training loop needs from a method, and nothing more.

A game owns its players (named modules) and says, for one training step, which
phases run in which order. The loop steps each phase's optimisers on the loss
the game returns; it never mentions G or D. Examples of what fits:

    GAN / WGAN-GP:  players G, D;        phases D (repeat n_critic), G
    lazy R1:        phases D, Dreg (every 16 steps), G
    ALI / BiGAN:    players E, G, D;     phases D, EG (one phase steps two optimisers)
    pix2pix:        players G, D;        G's loss adds lambda * L1(G(x), y)
    CycleGAN:       players G, F, D_X, D_Y; phases D (steps D_X and D_Y), GF; image pool in the game
    StackGAN:       players G1, D1, G2, D2; phases per stage
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

import torch
from torch import Tensor, nn

from gankit.config import OptimConfig

Batch = Mapping[str, Tensor]  # "x" data, "y" labels, later "text", "x_b" paired images, ...
Stats = dict[str, Tensor]  # detached scalars; the loop reads them only when it logs


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


class Game(Protocol):
    """What a registered game provides; built as `GameClass(config, data)`."""

    players: dict[str, nn.Module]  # every network, trainable or not
    phases: tuple[Phase, ...]
    optimizers: dict[str, OptimizerSpec]
    ema_players: tuple[str, ...]  # players whose moving average is kept (generators)

    def begin_step(self, step: int) -> None:
        """Called by the loop before each training step: schedules that live in the game (annealed
        instance noise) follow the step alone, so a resumed run continues them exactly."""
        ...

    def loss(self, phase: str, batch: Batch) -> tuple[Tensor, Stats]:
        """The loss to minimise in `phase` on `batch`, and statistics to log."""
        ...

    def fixed_inputs(self, n: int, generator: torch.Generator, label: int | None = None) -> dict[str, Tensor]:
        """Inputs for n samples (z, labels ...) drawn from `generator`; `label` fixes the class."""
        ...

    def generate(self, players: Mapping[str, nn.Module], inputs: Mapping[str, Tensor]) -> Tensor:
        """Samples from `inputs` using `players` (the EMA copies when the loop has them)."""
        ...

    def critic(self, players: Mapping[str, nn.Module], x: Tensor) -> Tensor | None:
        """D's probability that each x is real (for decision-surface pictures), shape (N,);
        None when the game has no single surface to show (e.g. a class-conditional D).
        A game whose D gives unbounded scores instead (WGAN, hinge) sets the attribute
        `critic_kind = "score"` (default "probability"), and pictures rescale them."""
        ...
