"""Cost of a text-conditional step against a class-conditional step of the same nets (issue #13).

    .venv/bin/python benchmarks/text_condition_step.py [--steps 30] [--repeats 5] [--threads 1]

Same data (shapes 32x32, the first 5,000 images: the sentence vectors of their 20,000 captions take
about 90 s to compute once), the same DCGAN G and D and game settings (the shapes-text-minilm preset:
matching-aware D, contrastive term, mode seeking), three conditions:
    label    the `shape` class (an embedding table in G and D)
    minilm   cached all-MiniLM-L6-v2 sentence vectors (4 per image, one drawn per step)
    learned  word ids through the learned word-window encoder (trained with the GAN)
Variants alternate (ABC ABC ...) and medians are reported, with the ratios to label.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import gankit  # noqa: F401
from gankit import config as C
from gankit import presets
from gankit.train.loop import Trainer

VARIANTS = {
    "label": ["game.condition=shape", "game.mismatch=true"],
    "minilm": ["data.text_encoder=minilm"],
    "learned": ["data.text_encoder="],
}


def make_trainer(extra: list[str]) -> Trainer:
    _, values = presets.resolve("shapes-text-minilm")
    cfg = C.build(values, C.parse_overrides([*extra, "train.progress=false", "data.n_samples=5000"]))
    return Trainer(cfg, Path(tempfile.mkdtemp()))


def steps_per_s(trainer: Trainer, steps: int) -> float:
    for _ in range(3):
        trainer.train_step()
    t = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    return steps / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trainers = {name: make_trainer(extra) for name, extra in VARIANTS.items()}
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, trainer in trainers.items():
            runs[name].append(steps_per_s(trainer, args.steps))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {trainers['label'].cfg.train.batch_size}")
    for name, v in med.items():
        print(f"{name:<8} {v:6.2f} steps/s   time per step / label = {med['label'] / v:.3f}")


if __name__ == "__main__":
    main()
