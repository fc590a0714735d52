"""The one training loop. It knows phases, optimisers and players by the names a game
gives them; it never mentions G or D.

    for step: for phase in game.phases (every/repeat):
        batch -> loss = game.loss(phase, batch) -> backward -> step the phase's optimisers
    then EMA update; every log_every: metrics.jsonl; every sample_every: pictures;
    every ckpt_every: checkpoint (atomic, exact resume).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from gankit import config as config_mod
from gankit.config import Config, OptimConfig
from gankit.data.base import IMAGE_KINDS, BatchSampler, TensorData, spec_to_dict
from gankit.errors import DivergenceError, UserError
from gankit.games.base import Game, Phase, backward
from gankit.losses.sinkhorn import sinkhorn_divergence
from gankit.registry import DATASETS, GAMES
from gankit.train import budget, checkpoint, distributed, speed
from gankit.train import players as players_mod
from gankit.train import device as device_mod
from gankit.train.ema import EMA
from gankit.train.meter import Meter
from gankit.train.rollback import RollbackState, recover
from gankit.train.rundir import MetricsLog
from gankit.train.sampling import generate, spread

# When the spread of a generated batch, relative to the data's, falls below COLLAPSE_RATIO after having
# reached HEALTHY_RATIO, a possible mode collapse is reported (healthy is near 1; collapse falls towards 0;
# an untrained generator starts low, which is not a collapse).
COLLAPSE_RATIO = 0.2
HEALTHY_RATIO = 0.5

OPTIMIZERS: dict[str, Callable[[list[nn.Parameter], OptimConfig], torch.optim.Optimizer]] = {
    "adam": lambda p, c: torch.optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay, foreach=True),
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, weight_decay=c.weight_decay),
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.beta1, weight_decay=c.weight_decay),
}


def load_data(cfg: Config) -> TensorData:
    data = DATASETS.get(cfg.data.name)(cfg.data)
    # Options only some datasets read: refused where they would silently do nothing.
    if cfg.data.text_encoder and not any(s.kind == "embedding" for s in data.spec.values()):
        raise UserError(f"data.text_encoder={cfg.data.text_encoder}: dataset {cfg.data.name!r} has no captions to encode "
                        "(shapes, characters and a folder with captions.jsonl have)")
    if (not cfg.data.paired or cfg.data.direction != "AtoB") and "x_b" not in data.spec:
        raise UserError(f"data.paired and data.direction are for translation datasets (pairs or two collections); "
                        f"{cfg.data.name!r} is not one")
    if cfg.data.cache != "auto" and cfg.data.name != "folder":
        raise UserError(f"data.cache is for the folder dataset; {cfg.data.name!r} is held in memory")
    if cfg.data.objects != 1 and cfg.data.name.split("-")[0] != "shapes":  # shapes and the translations drawn from it
        raise UserError(f"data.objects is for the shapes dataset; {cfg.data.name!r} does not read it")
    return data


class Trainer:
    """Builds a game from a config and trains it in a run directory. The trainer owns the players
    (`self.players`) and passes them to the game on every call."""

    def __init__(self, cfg: Config, run_dir: Path, data: TensorData | None = None, restoring: bool = False) -> None:
        self.cfg, self.run_dir = cfg, run_dir
        self.device = device_mod.resolve(cfg.train.device)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        torch.manual_seed(cfg.seed)
        self.data = data if data is not None else load_data(cfg)
        # channels_last pays on the CPU (1.13-1.17x); on a GPU (H200) the default layout was 1.19x faster
        self.conv = self.data.kind == "images" and cfg.train.channels_last and self.device.type == "cpu"
        budget.check(cfg, self.data.spec, self.device)  # before any player or batch is allocated
        self.game: Game = GAMES.get(cfg.game.name)(cfg, self.data.spec)
        self.players: dict[str, nn.Module] = dict(self.game.players)
        self.frozen = players_mod.frozen_players(cfg)
        self.initialised_from: dict[str, str] = {}
        if not restoring:  # a resumed run's weights come from its own checkpoint, not from init_from's run
            self.initialised_from = players_mod.init_players(cfg, self.players)
        for name, module in self.players.items():
            module.to(self.device)
            if self.conv:
                module.to(memory_format=torch.channels_last)
            if name in self.frozen:
                module.eval().requires_grad_(False)
        self.optimizers = {}
        for name, spec in self.game.optimizers.items():
            players_mod.check_trainable(f"optimiser {name}", spec.players, self.frozen)
            params = [p for player in spec.players for p in self.players[player].parameters()]
            self.optimizers[name] = OPTIMIZERS[spec.config.name](params, spec.config)
        for phase in self.game.phases:
            players_mod.check_trainable(f"phase {phase.name}", phase.trains, self.frozen)
        self.emas = ({n: EMA(self.players[n], cfg.train.ema_decay) for n in self.game.ema_players
                      if n not in self.frozen} if cfg.train.ema else {})
        self.sampler = BatchSampler(self.data, cfg.train.batch_size, seed=cfg.seed + 1)
        # the same z (and conditions) for every picture of the run, so the GIF shows one sample evolving
        n_fixed = cfg.eval.grid if self.data.kind == "images" else min(cfg.eval.n_samples, 2500)
        source = self.data.take(torch.arange(n_fixed) % len(self.data))
        self.fixed_inputs = self.game.fixed_inputs(n_fixed, torch.Generator().manual_seed(cfg.seed + 2), source=source)
        n_probe = min(256, n_fixed, len(self.data))
        self._probe_inputs = {k: v[:n_probe] for k, v in self.fixed_inputs.items()}
        probe_idx = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(cfg.seed + 4))[:n_probe]
        probe = self.data.take(probe_idx, (self.game.reference_field,))[self.game.reference_field]  # what fakes imitate
        self._data_spread = float(spread(probe))
        self._probe_real = probe if self.data.kind == "points" else None
        self._to_device()
        self._best_diversity = 0.0
        self._collapse_warned = False
        self.step = 0
        self.meter = Meter()
        self._stop_requested = False
        self._elapsed_before = 0.0  # training seconds of earlier sessions of this run (for train.minutes)
        self._session_start: float | None = None
        self._last_saved = -1
        self.hooks: list[Callable[["Trainer"], None]] = []  # called after each step (tests inject faults here)
        self.rollback = RollbackState()  # train.on_nan = rollback: how often, and the learning rates' scale
        # under torchrun, one replica of N (train/distributed.py): batch part, gradient averaging, sync BN;
        # None in one process
        self.ddp = distributed.attach(self)
        # after the EMA copies and the DDP hooks: compiled in place, so state_dict keys do not change
        speed.prepare(self.players, cfg.train.compile, cfg.train.precision, self.device)

    def _to_device(self) -> None:
        """The whole dataset onto the training device, once (batches are indexed and decoded there);
        images in channels_last when the conv layout pays, so batches indexed from them stay so."""
        def move(kind: str, t: torch.Tensor) -> torch.Tensor:
            t = t.to(self.device)
            return t.contiguous(memory_format=torch.channels_last) if self.conv and kind in IMAGE_KINDS else t

        self.data.map_fields(move)

    # ---- state -------------------------------------------------------------------------
    @property
    def sampled_with(self) -> str:
        """Which weights samples come from, e.g. "EMA of G" (what scores.json and reports say)."""
        return ", ".join(f"EMA of {n}" for n in self.emas) or "live weights (no EMA kept)"

    def sampling_players(self) -> dict[str, nn.Module]:
        """Players to draw samples with: EMA copies where kept, the live ones otherwise."""
        return {**self.players, **{n: e.module for n, e in self.emas.items()}}

    def state_dict(self) -> dict[str, Any]:
        packaged = players_mod.packaged_players(self.cfg)
        return {
            "step": self.step,
            "players": {n: m.state_dict() for n, m in self.players.items() if n not in packaged},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "ema": {n: e.state_dict() for n, e in self.emas.items()},
            "game": self.game.state_dict(),
            "sampler": self.sampler.state_dict(),
            "rng": device_mod.rng_state(self.device),
            "health": {"best_diversity": self._best_diversity, "collapse_warned": self._collapse_warned},
            "meter": self.meter.state_dict(),
            "elapsed_s": self.elapsed(),
            "config": config_mod.to_dict(self.cfg),
            "data_spec": spec_to_dict(self.data.spec),
            "rollback": self.rollback.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        packaged = players_mod.packaged_players(self.cfg)
        try:
            for name, module in self.players.items():
                if name not in packaged:
                    module.load_state_dict(state["players"][name])
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            for name, ema in self.emas.items():
                ema.load_state_dict(state["ema"][name])
            self.game.load_state_dict(state.get("game", {}))
            self.sampler.load_state_dict(state["sampler"])
            device_mod.set_rng_state(state["rng"], self.device)
            self._best_diversity = float(state["health"]["best_diversity"])
            self._collapse_warned = bool(state["health"]["collapse_warned"])
            self.meter.load_state_dict(state["meter"], self.device)
            self.rollback.load_state_dict(state.get("rollback"))
            self._elapsed_before = float(state["elapsed_s"])
            self.step = int(state["step"])
            self._last_saved = self.step  # that step is on disk: a resume with no steps left rewrites nothing
        except (KeyError, RuntimeError, ValueError) as exc:
            raise UserError(f"checkpoint does not match this run's config: {str(exc).splitlines()[0]}") from None

    def clock(self) -> float:
        """Now, on the clock train.minutes counts: wall time, or this process's CPU time (train.clock=cpu)."""
        return time.process_time() if self.cfg.train.clock == "cpu" else time.monotonic()

    def elapsed(self) -> float:
        """Seconds of training in this run so far (on train.clock), across resumes. Under DDP, rank 0's
        reading as the processes agreed on it after the last step, so that they all stop at the same step."""
        if self.ddp is not None and self.ddp.elapsed is not None:
            return self.ddp.elapsed
        running = self.clock() - self._session_start if self._session_start is not None else 0.0
        return self._elapsed_before + running

    def save_checkpoint(self) -> None:
        """Checkpoint the current step (once: the end of a run often falls on a periodic save)."""
        self.check_health()
        if self._last_saved != self.step:
            checkpoint.save(self.run_dir, self.step, self.state_dict(), game=self.cfg.game.name)
            self._last_saved = self.step

    def check_health(self) -> None:
        """Stop on a non-finite loss (exact step and phase from the meter) or weight."""
        self.meter.check()
        for name, module in self.players.items():
            if name in self.frozen:
                continue
            params = [p for p in module.parameters()]
            if params and not torch.stack([torch.isfinite(p).all() for p in params]).all():
                raise DivergenceError(f"training diverged: a weight of {name} is non-finite at step {self.step}")

    def diversity(self) -> float:
        """Spread of generated samples relative to the data's (about 1 when healthy, -> 0 on collapse)."""
        fake = generate(self.game, self.sampling_players(), self._probe_inputs)["fake"]
        ratio = float(spread(fake)) / max(self._data_spread, 1e-12)
        self._best_diversity = max(self._best_diversity, ratio)
        if ratio < COLLAPSE_RATIO <= HEALTHY_RATIO <= self._best_diversity and not self._collapse_warned:
            self._collapse_warned = True
            warnings.warn(f"possible mode collapse at step {self.step}: generated samples vary {ratio:.2f}x as much "
                          f"as the data, down from {self._best_diversity:.2f}x (diversity in metrics.jsonl)", stacklevel=2)
        return round(ratio, 4)

    def distance_to_data(self) -> float:
        """Debiased Sinkhorn divergence (blur 0.02, i.e. close to W2^2 / 2) between the probe samples
        and a fixed data sample of the same size: the convergence curve of a 2D run."""
        fake = generate(self.game, self.sampling_players(), self._probe_inputs)["fake"]
        return round(float(sinkhorn_divergence(fake, self._probe_real, blur=0.02, scaling=0.7)), 6)

    def evaluate(self) -> dict[str, float]:
        """Cheap scores of the sampling players (FID and classifier score on 1,000 images; the toy
        scores on mixtures): the eval_* curves. Draws nothing from torch's global RNG."""
        from gankit.evaluate.during_training import evaluate_during_training

        return evaluate_during_training(self.game, self.sampling_players(), self.data, self.cfg, self.step)

    # ---- stepping ----------------------------------------------------------------------
    def _set_trainable(self, names: tuple[str, ...]) -> None:
        for name, module in self.players.items():
            module.requires_grad_(name in names and name not in self.frozen)

    def lr_factor(self) -> float:
        """1 until lr_decay_start * steps, then linearly down to 0 at the last step (a function of
        the step alone, so resume needs no scheduler state)."""
        start = self.cfg.train.lr_decay_start * self.cfg.train.steps
        if self.step < start:
            return 1.0
        return max(0.0, 1.0 - (self.step - start) / max(self.cfg.train.steps - start, 1))

    def _set_lr(self) -> None:
        factor = self.lr_factor() * self.rollback.lr_scale
        for name, opt in self.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = self.game.optimizers[name].config.lr * factor

    @torch.no_grad()
    def _clip(self, names: tuple[str, ...], bound: float) -> None:
        for name in names:
            for p in self.players[name].parameters():
                p.clamp_(-bound, bound)

    def run_phase(self, phase: Phase, meter: Meter | None = None) -> None:
        """One phase of a step, `repeat` times on fresh batches; its stats go to `meter` (the step's own by
        default: a phase run by hand (--control) keeps them apart). The step counter does not move."""
        self._set_trainable(phase.trains)
        optimizers = {o: self.optimizers[o] for o in phase.optimizers}
        for _ in range(phase.repeat):
            # under DDP, this process's rows of draws made for the whole batch; forward passes in bf16 if asked
            with distributed.part(self.ddp), speed.autocast(self.cfg.train.precision, self.device):
                loss, stats = self.game.loss(phase.name, self.sampler.sample(), self.players)
            for opt in optimizers.values():
                opt.zero_grad(set_to_none=True)
            loss = backward(loss, optimizers)
            for opt in optimizers.values():
                opt.step()
            if phase.clip:
                self._clip(phase.trains, phase.clip)
            (meter or self.meter).add(phase.name, self.step, loss, stats)

    def train_step(self) -> None:
        speed.mark_step(self.cfg.train.compile, self.device)  # a new iteration for the CUDA-graph runtime
        if self.cfg.train.lr_decay_start < 1:
            self._set_lr()
        self.game.begin_step(self.step)
        for phase in self.game.phases:
            if not self.step % phase.every:
                self.run_phase(phase)
        for ema in self.emas.values():
            ema.update()
        self.step += 1
        for hook in self.hooks:
            hook(self)

    def due(self, every: int) -> bool:
        """True on steps that are multiples of `every` (0 = never)."""
        return every > 0 and self.step % every == 0

    def request_stop(self, *_: Any) -> None:
        """SIGINT handler: finish the current step, checkpoint, then stop (under DDP, all processes after
        the step at which they agree on it)."""
        if self.ddp is not None:
            self.ddp.request_stop()
        else:
            self._stop_requested = True

    def run(self, log: MetricsLog, on_sample: Callable[["Trainer"], None], progress: Any = None,
            live: Any = None, control: Any = None) -> str:
        """Train until train.steps or train.minutes; returns why it stopped (train/schedule.py). `live`
        writes 2D snapshots (train/live2d.py), `control` obeys commands between steps (train/control_loop.py)."""
        from gankit.train.schedule import run_schedule

        while True:
            try:
                return run_schedule(self, log, on_sample, progress, live=live, control=control)
            except DivergenceError as exc:  # train.on_nan = rollback: back to the last good checkpoint
                if not recover(self, log, exc, progress):
                    raise
