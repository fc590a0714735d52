"""What a run shows and scores: sample pictures, the progress GIF, curves, scores.json.

Used by the loop during training and by `gankit sample` afterwards, so a picture made
later from a checkpoint is drawn exactly like the ones made while training.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from gankit.data.base import TensorData
from gankit.games.base import Game
from gankit.train import device as device_mod
from gankit.train.rundir import METRICS_FILE, read_rows, write_scores
from gankit.train.sampling import evaluating, generate
from gankit.viz.animate import gif_from_pngs
from gankit.viz.grids import make_grid, save_png, upscale
from gankit.viz.plots import plot_convergence, plot_curves, plot_points

def render(game: Game, players: Mapping[str, nn.Module], inputs: Mapping[str, Tensor], data: TensorData | None,
           path: Path, title: str = "", decision_surface: bool = True) -> Path:
    """A sample grid (images: each example's panels side by side, e.g. input | fake | target) or a
    real-vs-fake scatter with D's decision surface (points)."""
    panels = generate(game, players, inputs)
    fake = panels["fake"]
    if fake.ndim == 4:
        tiles = fake if len(panels) == 1 else torch.cat([p.expand_as(fake) if p.shape[1] != fake.shape[1] else p
                                                        for p in panels.values()], dim=3)
        grid = make_grid(tiles)
        save_png(upscale(grid, max(1, math.ceil(256 / max(grid.shape[:2])))), path)
        return path
    field = game.reference_field  # what the fakes imitate: x, or a translation's target
    real = (data.take(torch.arange(min(len(fake), len(data))), (field,))[field].cpu() if data is not None
            else fake[:0])
    device = device_mod.of_players(players.values())
    critic = None
    with evaluating(players):
        has_surface = decision_surface and len(real) > 0 and game.critic(players, real[:1].to(device)) is not None
    if has_surface:
        def critic(x: Tensor) -> Tensor:
            with evaluating(players):
                out = game.critic(players, x.to(device)).cpu()
            return torch.sigmoid(out) if game.critic_kind == "probability" else out
    means = data.mixture.means if data is not None and data.mixture is not None else None
    plot_points(real, fake, path, critic=critic, title=title, means=means,
                critic_scores=game.critic_kind == "score")
    return path


def finish(run_dir: Path, game: Game, players: Mapping[str, nn.Module], data: TensorData,
           n_samples: int, seed: int, step: int, sampled_with: str) -> dict[str, Any]:
    """End-of-run artefacts: progress.gif, curves.png and, for 2D data, convergence.png and
    (mixtures) scores.json."""
    frames = sorted((run_dir / "samples").glob("step-*.png"))
    if frames:
        gif_from_pngs(frames, run_dir / "progress.gif")
    # rows of phases run by hand (--control) sit at a paused step, rollback rows (train.on_nan) mark an
    # event: neither is a point of the run's curve
    rows = [r for r in read_rows(run_dir / METRICS_FILE) if "manual_phase" not in r and "rollback" not in r]
    keys = sorted({k for row in rows for k in row} - {"step", "time", "img_per_s"})
    if rows and keys:
        plot_curves(rows, keys, run_dir / "curves.png", title=run_dir.name)
    if data.kind == "points" and any("sinkhorn_to_data" in row for row in rows):
        plot_convergence(rows, run_dir / "convergence.png", title=run_dir.name)
    scores: dict[str, Any] = {}
    if data.mixture is not None and not game.source_fields:
        from gankit.evaluate.during_training import mixture_scores

        scores = mixture_scores(game, players, data.mixture, n_samples, torch.Generator().manual_seed(seed + 3))
        scores.pop("samples")
        if hasattr(game, "reconstruct"):  # ALI / BiGAN: how well E inverts G, on fresh data points
            from gankit.data.toy import sample_mixture
            from gankit.evaluate.inversion import point_reconstruction
            from gankit.train.sampling import evaluating

            x = sample_mixture(data.mixture, n_samples, torch.Generator().manual_seed(seed + 4))
            with evaluating(players):
                scores.update(point_reconstruction(game, players, x, data.mixture.sigma))
        scores.update(step=step, seed=seed, sampled_with=sampled_with)
        write_scores(run_dir, "train", scores)
    return scores
