"""Live 2D snapshots: the duel on the plane every train.live_every steps, for any game on 2D points.

Each snapshot (RUN/live/step-N.json, schema in gankit/live/snapshots.py) holds a fixed data sample,
G's samples for a fixed z, D's surface on a grid, G's warp of a z grid and the pull of G's loss on
each fake. The per-game parts come from two small game methods (games/base.py): `live_surface`
(the critic over the plane) and `generator_loss` (G's loss on given fakes, whose gradient is the pull).

A snapshot must not change training: it draws nothing from torch's random streams (fork_rng guards
them, and every input is a fixed tensor made once), runs players in eval mode (no batch-norm
statistics move, no dropout is drawn) and takes gradients with torch.autograd.grad with respect to
the fakes alone, so no parameter's .grad is touched. A run with snapshots is bit-identical to one
without (tests/test_live2d.py).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gankit.files import atomic_write
from gankit.live.snapshots import SCHEMA, list_snapshots, read_snapshot, snapshot_path
from gankit.train import device as device_mod
from gankit.train.sampling import eval_mode
from gankit.viz.plots import data_limits

if TYPE_CHECKING:
    from gankit.train.loop import Trainer

POINTS = 256  # real and fake points per snapshot
GRID = 40  # the surface: GRID x GRID values
WARP = 17  # the z mesh: WARP x WARP points
Z_RANGE = {"normal": 2.5, "uniform": 1.0}  # the z mesh spans [-r, r] in each of z's first two dimensions
MAX_FILES, KEEP_RECENT = 120, 40  # beyond MAX_FILES, every other snapshot older than the newest KEEP_RECENT goes
FAKE_FROM = "live"


def _rounded(t: Tensor, digits: int = 4) -> list[Any]:
    """Nested lists with `digits` significant digits relative to the largest value (JSON stays small);
    a non-finite value becomes None."""
    a = t.detach().cpu().double().numpy()
    finite = np.isfinite(a)
    top = float(np.abs(a[finite]).max()) if finite.any() else 0.0
    decimals = min(12, max(0, digits - 1 - (math.floor(math.log10(top)) if top > 0 else 0)))
    out = np.round(a, decimals)
    if finite.all():
        return out.tolist()
    out = out.astype(object)
    out[~finite] = None  # JSON has no NaN (a diverging G's points)
    return out.tolist()


class LiveWriter:
    """Writes the live snapshots of one training session (`for_trainer` says whether there are any)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer, self.every = trainer, trainer.cfg.train.live_every
        cfg, data, game = trainer.cfg, trainer.data, trainer.game
        field = game.reference_field
        self.device = device_mod.of_players(trainer.players.values())
        # the axes of the sample pictures: every frame of the run shares them
        shown = data.take(torch.arange(min(len(data), 2500)), (field,))[field].cpu()
        self.bounds = [float(v) for v in data_limits(shown)]
        pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed + 5))[:POINTS]
        self.real = data.take(pick, (field,))[field].float().to(self.device)
        self.inputs = {k: v[:POINTS].to(self.device) for k, v in trainer.fixed_inputs.items()}
        x0, x1, y0, y1 = self.bounds
        self.xs, self.ys = torch.linspace(x0, x1, GRID), torch.linspace(y0, y1, GRID)
        gy, gx = torch.meshgrid(self.ys, self.xs, indexing="ij")
        self.grid = torch.stack([gx.flatten(), gy.flatten()], dim=1).to(self.device)  # row i = ys[i]
        self._constant = {"real": _rounded(self.real), "xs": _rounded(self.xs), "ys": _rounded(self.ys)}
        self.warp_rows = 0
        self.warp_inputs, self.warp_why, self.z_range = self._warp_inputs(cfg.nets.z_dist)
        self.meta = {"game": cfg.game.name, "loss": getattr(cfg.game.settings, "loss", None)}
        self._rng_devices = [self.device] if self.device.type == "cuda" else []
        self.seq = self._start_seq(trainer.step)
        self.written_at = -1  # the step of the newest regular snapshot of this session

    @classmethod
    def for_trainer(cls, trainer: Trainer) -> LiveWriter | None:
        """A writer when the run has snapshots: train.live_every > 0 and 2D points data."""
        field = trainer.data.spec.get(trainer.game.reference_field)
        if trainer.cfg.train.live_every == 0 or field is None or field.kind != "points" or tuple(field.shape) != (2,):
            return None
        return cls(trainer)

    def _warp_inputs(self, z_dist: str) -> tuple[dict[str, Tensor] | None, str | None, list[float] | None]:
        z = self.inputs.get("z")
        if z is None or z.ndim != 2 or not z.is_floating_point():
            return None, "the game's samples are not drawn from a noise vector z", None
        r = Z_RANGE[z_dist]
        line = torch.linspace(-r, r, WARP, device=z.device)
        self.warp_rows = WARP if z.shape[1] >= 2 else 1
        if z.shape[1] >= 2:
            z1, z2 = torch.meshgrid(line, line, indexing="ij")  # rows: equal z1; columns: equal z2
            mesh = torch.zeros(WARP * WARP, z.shape[1], device=z.device)
            mesh[:, 0], mesh[:, 1] = z1.flatten(), z2.flatten()
        else:
            mesh = line[:, None]
        # conditions (a class ...) are those of the first fake, for every point of the mesh
        others = {k: v[:1].expand(len(mesh), *v.shape[1:]) for k, v in self.inputs.items() if k != "z"}
        return {"z": mesh.to(self.device), **others}, None, [-r, r]

    def _start_seq(self, step: int) -> int:
        """Snapshots after `step` belong to a session cut short (this one resumes from `step`): removed.
        The seq goes on from the highest one seen, so a page polling by seq sees every new snapshot."""
        seqs = [0]
        steps = list_snapshots(self.trainer.run_dir)
        for s in [s for s in steps if s <= step][-1:] + [s for s in steps if s > step]:
            try:
                seqs.append(int(read_snapshot(self.trainer.run_dir, s).get("seq", 0)))
            except (FileNotFoundError, ValueError, TypeError):
                pass
            if s > step:
                snapshot_path(self.trainer.run_dir, s).unlink(missing_ok=True)
        return max(seqs)

    def snapshot(self, manual: tuple[str, ...] = ()) -> dict[str, Any]:
        """The snapshot of the players as they are now (see gankit/live/snapshots.py for the fields)."""
        game, players = self.trainer.game, self.trainer.players
        with torch.random.fork_rng(devices=self._rng_devices), eval_mode(players):
            with torch.no_grad():
                fake = game.generate(players, self.inputs)["fake"].float()
                warp = game.generate(players, self.warp_inputs)["fake"] if self.warp_inputs is not None else None
                surface, surface_of = game.live_surface(players, self.grid)
            leaf = fake.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                loss, pull_of = game.generator_loss(players, leaf, self.inputs, self.real)
                grad = torch.autograd.grad(loss, leaf, allow_unused=True)[0] if loss is not None else None
        pull = None if loss is None else (-len(leaf) * grad if grad is not None else torch.zeros_like(leaf))
        if surface is not None and game.critic_kind == "probability":
            surface = torch.sigmoid(surface)
        snap: dict[str, Any] = {
            "schema": SCHEMA, "step": self.trainer.step, "seq": self.seq + 1, "written": round(time.time(), 3),
            "manual": list(manual), **self.meta, "bounds": [round(b, 6) for b in self.bounds],
            "real": self._constant["real"], "fake": _rounded(fake), "fake_from": FAKE_FROM,
            "surface": None if surface is None else {"xs": self._constant["xs"], "ys": self._constant["ys"],
                                                     "values": _rounded(surface.reshape(GRID, GRID))},
            "surface_kind": None if surface is None else game.critic_kind,
            "surface_of": surface_of if surface is not None else None,
            "surface_why": None if surface is not None else surface_of,
            "warp": None if warp is None else {"z_range": self.z_range, "points": _rounded(warp.reshape(self.warp_rows, -1, 2))},
            "warp_why": self.warp_why,
            "pull": None if pull is None else _rounded(pull),
            "pull_of": pull_of if pull is not None else None,
            "pull_why": None if pull is not None else pull_of,
        }
        return snap

    def write(self, manual: tuple[str, ...] = ()) -> Path:
        """Write the snapshot of the current step (again, with the phases run by hand since, when `manual`)."""
        snap = self.snapshot(manual)
        self.seq = snap["seq"]
        path = snapshot_path(self.trainer.run_dir, snap["step"])
        atomic_write(path, json.dumps(snap, allow_nan=False, separators=(",", ":")).encode())
        if not manual:
            self.written_at = snap["step"]
        self._thin()
        return path

    def _thin(self) -> None:
        """A long run keeps MAX_FILES snapshots at most: the newest KEEP_RECENT and, before them, a history
        that gets sparser (every other old one goes each time the cap is reached; the first one stays)."""
        steps = list_snapshots(self.trainer.run_dir)
        if len(steps) > MAX_FILES:
            for step in steps[:-KEEP_RECENT][1::2]:
                snapshot_path(self.trainer.run_dir, step).unlink(missing_ok=True)

