"""Stacked Fashion-MNIST: three random garments as the three channels of one image, 1000 modes.

The Fashion-MNIST analogue of stacked MNIST (Metz et al. 2017, "Unrolled GANs"; VEEGAN, Srivastava
et al. 2017, Table 2; PacGAN, Lin et al. 2018, Tables 2-3): a generator that drops garment
combinations shows it in the mode count of `gankit.metrics.stacked_modes`, which classifies each
channel with the Fashion-MNIST domain classifier.

    x  (N, 3, 28, 28) uint8 "image"   channel k = Fashion-MNIST image i_k, i_k ~ Uniform(split), independent
    y  (N,) int64 "label"             mode = 100 * y(i_0) + 10 * y(i_1) + y(i_2), 1000 classes,
                                      named "Sneaker|Bag|Coat" (channel 0|1|2)

N = data.limit when > 0 (it may exceed the split's size: the draws are with replacement), else the
split's size (60,000 train / 10,000 test), one stacked image per source image as in stacked MNIST.
The indices come from a generator seeded with SEED, so the set is the same on every run and
machine; a smaller data.limit gives the first rows of the full set. data.path is the folder of the
Fashion-MNIST IDX files (as for `fashion-mnist`); data.resolution resizes every channel (float32
then, as for every resized set); data.channels may be 0 or 3, never 1 (luma would mix the garments).
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.images import FASHION_CLASSES, _check_split, _finish
from gankit.errors import UserError
from gankit.registry import DATASETS

NAME = "stacked-fashion"
CHANNELS = 3  # garments per image: 10**3 = 1000 modes
N_MODES = len(FASHION_CLASSES) ** CHANNELS
# DataConfig has no seed of its own (a run's seed drives training, not the data), so the stacks are
# drawn with this constant: the same set for every run, which is what makes mode counts comparable.
SEED = 1000
MODE_NAMES = tuple("|".join((FASHION_CLASSES[m // 100], FASHION_CLASSES[m // 10 % 10], FASHION_CLASSES[m % 10]))
                   for m in range(N_MODES))


def mode_ids(classes: Tensor) -> Tensor:
    """(N, 3) per-channel classes 0..9 -> (N,) int64 mode ids 100*c_0 + 10*c_1 + c_2 in 0..999."""
    if classes.ndim != 2 or classes.shape[1] != CHANNELS:
        raise ValueError(f"classes must be (N, {CHANNELS}), got {tuple(classes.shape)}")
    weights = torch.tensor([100, 10, 1], dtype=torch.int64, device=classes.device)
    return (classes.long() * weights).sum(1)


def draw_stacks(n: int, pool: int, seed: int = SEED) -> Tensor:
    """(n, 3) int64 indices into a pool of `pool` images, uniform and independent, seeded.

    Always draws max(n, pool) rows and keeps the first n, so a smaller n is a prefix of the
    full set (data.limit keeps the first examples, as for every dataset)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(pool, (max(n, pool), CHANNELS), generator=generator)[:n]


@DATASETS.register(NAME)
def load_stacked_fashion(cfg: DataConfig) -> TensorData:
    """Stacked Fashion-MNIST: 3 random garments as RGB channels, 1000 modes (stacked MNIST's analogue)."""
    _check_split(cfg, NAME)
    if cfg.channels == 1:
        raise UserError(f"dataset {NAME!r} keeps one garment per channel: data.channels must be 0 or 3, got 1")
    source = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", path=cfg.path, split=cfg.split))
    garments, classes = source.fields["x"], source.fields["y"]  # uint8 (M, 1, 28, 28), int64 (M,)
    idx = draw_stacks(cfg.limit or len(garments), len(garments))
    # One gather for the whole set: (N*3, 1, 28, 28) -> (N, 3, 28, 28), still uint8.
    x = garments[idx.flatten()].view(len(idx), CHANNELS, *garments.shape[2:])
    y = mode_ids(classes[idx])
    return _finish(x, y.numpy(), cfg, list(MODE_NAMES), f"{NAME}:{cfg.split}:seed {SEED}:{source.source}")
