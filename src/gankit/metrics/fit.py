"""Training the judges (attribute classifier, segmenter): seeded, single-threaded, one-cycle Adam.

A judge's weights must be the same on every run of every machine with the same data and recipe, so
that scores made with it compare: training runs on one thread (a fixed order of float operations),
under its own seed, without moving the caller's global RNG.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from gankit.data.base import TensorData


def fit_seeded(make_model: Callable[[], nn.Module], train: TensorData, fields: tuple[str, ...],
               loss: Callable[[Any, dict[str, Tensor]], Tensor], recipe: Any) -> nn.Module:
    """make_model() trained on batches of `fields` of `train` (x first) for recipe.epochs with Adam under
    a one-cycle schedule to recipe.max_lr; recipe also gives batch_size, seed and train_limit (> 0: only
    the first N examples). Returns the model in eval mode."""
    n = len(train) if recipe.train_limit <= 0 else min(len(train), recipe.train_limit)
    steps_per_epoch = max(n // recipe.batch_size, 1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # reproducible weights, whatever the machine (features.train_classifier)
        with torch.random.fork_rng(devices=[]):  # training must not move the global RNG
            torch.manual_seed(recipe.seed)
            model = make_model()
            opt = torch.optim.Adam(model.parameters(), lr=recipe.max_lr)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.max_lr, pct_start=0.2,
                                                        total_steps=recipe.epochs * steps_per_epoch)
            order = torch.Generator().manual_seed(recipe.seed)
            model.train()
            for _ in range(recipe.epochs):
                perm = torch.randperm(n, generator=order)
                for i in range(steps_per_epoch):
                    batch = train.take(perm[i * recipe.batch_size : (i + 1) * recipe.batch_size], fields)
                    value = loss(model(batch["x"]), batch)
                    opt.zero_grad(set_to_none=True)
                    value.backward()
                    opt.step()
                    sched.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()
