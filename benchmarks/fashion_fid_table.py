"""FID and classifier score of gankit's DCGAN on Fashion-MNIST after 5, 15 and 30 minutes of CPU training,
with the floor (Fashion-MNIST train vs test) beside them.

Train once, snapshotting the generator as the training clock passes each mark, then score every snapshot:

    .venv/bin/python benchmarks/fashion_fid_table.py --train runs/fashion-table --minutes 5 15 30 \\
        [--set train.threads=2] [--n 10000]

or score run directories you already have (each at its newest checkpoint):

    .venv/bin/python benchmarks/fashion_fid_table.py runs/fd-5 runs/fd-15 runs/fd-30

Every row: 10,000 samples of the EMA generator (z from seed 0) against the 10,000 test images, in the
cached Fashion-MNIST domain classifier's feature space (its accuracy and weights hash are printed), plus
KID. The floor row scores 10,000 training images the same way: no generator can beat it by much.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

import gankit  # noqa: F401  (registration)
from gankit import config as config_mod
from gankit import presets
from gankit.evaluate.run import Request, image_context, score
from gankit.evaluate.sources import reference, subset
from gankit.train import session
from gankit.train.loop import Trainer
from gankit.train.sampling import generate

METRICS = ["fid", "kid", "classifier_score"]
SNAPSHOTS = "snapshots"


def score_trainer(trainer: Trainer, n: int, seed: int = 0) -> dict[str, Any]:
    """FID, KID and classifier score of the trainer's EMA generator against the test split."""
    inputs = trainer.game.fixed_inputs(n, torch.Generator().manual_seed(seed))
    fake = generate(trainer.game, trainer.sampling_players(), inputs)["fake"]
    ref = reference(trainer.cfg.data, None)
    conditions = {k: inputs[k] for k in trainer.game.conditions}
    ctx, metrics = image_context(Request(metrics=METRICS, n=n, seed=seed), fake, conditions, ref, n)
    return score(ctx, metrics)


def floor(trainer: Trainer, n: int, seed: int = 0) -> dict[str, Any]:
    """The same scores for n real training images in place of generated ones."""
    from gankit.metrics.features import load_split

    train = load_split(trainer.cfg.data, "train")
    x, _ = subset(train, n, torch.Generator().manual_seed(seed + 2))
    ref = reference(trainer.cfg.data, None)
    ctx, metrics = image_context(Request(metrics=METRICS, n=n, seed=seed), x, None, ref, n)
    return score(ctx, metrics)


def train_with_snapshots(out: Path, minutes: list[float], overrides: list[str]) -> None:
    """One run of fashion-dcgan for max(minutes), saving the full trainer state at each mark."""
    _, values = presets.resolve("fashion-dcgan")
    sets = [f"train.minutes={max(minutes)}", "train.steps=100000000", "train.progress=false", *overrides]
    cfg = config_mod.build(values, config_mod.parse_overrides(sets))
    marks = sorted(minutes)[:-1]  # the last one is the end of the run (its final checkpoint)

    def snapshot(trainer: Trainer) -> None:
        while marks and trainer.elapsed() >= 60 * marks[0]:
            path = trainer.run_dir / SNAPSHOTS / f"min-{marks.pop(0):g}.pt"
            path.parent.mkdir(exist_ok=True)
            torch.save(trainer.state_dict(), path)
            print(f"snapshot {path} at step {trainer.step}", flush=True)

    result = session.train_new(cfg, out, hooks=[snapshot])
    print(f"trained {result.run_dir}: step {result.step}, stopped by {result.stopped_by}", flush=True)


def rows_for(run_dir: Path, n: int) -> tuple[list[tuple[str, int, dict]], Trainer]:
    trainer = session.load_trainer(run_dir)
    final_minutes = trainer.elapsed() / 60
    rows = []
    for snap in sorted((run_dir / SNAPSHOTS).glob("min-*.pt"), key=lambda p: float(p.stem[4:])):
        trainer.load_state_dict(torch.load(snap, map_location="cpu", weights_only=True))
        rows.append((f"{trainer.elapsed() / 60:.1f}", trainer.step, score_trainer(trainer, n)))
    trainer = session.load_trainer(run_dir)
    rows.append((f"{final_minutes:.1f}", trainer.step, score_trainer(trainer, n)))
    return rows, trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="run directories to score (newest checkpoint and snapshots)")
    ap.add_argument("--train", type=Path, metavar="OUT", help="train fashion-dcgan into OUT first, with snapshots")
    ap.add_argument("--minutes", type=float, nargs="+", default=[5, 15, 30])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for --train")
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    runs = list(args.runs)
    if args.train:
        train_with_snapshots(args.train, args.minutes, args.set)
        runs.append(args.train)
    if not runs:
        ap.error("give run directories, or --train OUT")
    t0 = time.perf_counter()
    table: list[tuple[str, int, dict]] = []
    trainer = None
    for run in runs:
        rows, trainer = rows_for(run, args.n)
        table += [(f"{run.name} @ {m} min", step, s) for m, step, s in rows]
    real = floor(trainer, args.n)
    net = next(iter(real["feature_nets"].values()))
    print(f"\nfeature net: {next(iter(real['feature_nets']))} (test accuracy {100 * net['test_accuracy']:.2f}%, "
          f"weights sha256 {net['weights_sha256'][:16]}); {args.n} samples vs {real['provenance']['fid']['n_real']} "
          f"{real['provenance']['fid']['real']} images; scored in {time.perf_counter() - t0:.0f} s\n")
    print("| DCGAN on Fashion-MNIST (CPU training time) | step | FID (domain) | KID (domain) | classifier score |")
    print("|---|---|---|---|---|")
    for label, step, s in table:
        print(f"| {label} | {step} | {s['fid']:.2f} | {s['kid']:.4g} ± {s['kid_std']:.2g} "
              f"| {s['classifier_score']:.2f} ± {s['provenance']['classifier_score']['std']:.2f} |")
    print(f"| **floor: {args.n} train images vs test** | - | **{real['fid']:.2f}** | {real['kid']:.2g} "
          f"| {real['classifier_score']:.2f} (real data) |")


if __name__ == "__main__":
    main()
