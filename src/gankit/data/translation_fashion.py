"""Translation sets made from Fashion-MNIST (layout: translation.py).

    fashion-edges         A: edges of the garment, 1 channel, black on white   B: the garment (pix2pix's edges -> photo)
    fashion-sneaker2boot  A: sneakers (class 7)   B: ankle boots (class 9): two collections, no pairs (CycleGAN)

The images come from the `fashion-mnist` loader (IDX files; data.path = their folder, as for
`fashion-mnist`). The 28 px garments are padded with 2 black pixels on every side to 32 px (nothing
is resampled or cut; U-Nets can halve 32 five times) and, for data.resolution=64, then resized
bicubically. Gray, 1 channel; data.channels=3 repeats the garment side (edges stay 1 channel).
The edge maps are computed once and cached under $GANKIT_CACHE/data, keyed by a hash of the images.

Fields (after data.direction; x_b is the target; y is the Fashion-MNIST class, 10 names):
    fashion-edges        paired (train with data.paired=true, and always test)
                             x (N, 1, S, S) image, x_b (N, C, S, S) paired_image, y (N,) int64
                         unpaired train: x, y of the first half of the garments;
                                         domains["b"]: x_b, y_b of the second half
    fashion-sneaker2boot always unpaired (no ground truth; it is judged by a domain classifier):
                             x (N_a, C, S, S) image, y (N_a,) = 7;  domains["b"]: x_b (N_b, C, S, S), y_b (N_b,) = 9
                         train 6000 + 6000, test 1000 + 1000 (the whole Fashion-MNIST classes)
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import FieldSpec, TensorData
from gankit.data.drawn import cache_file, cached_arrays
from gankit.data.images import FASHION_CLASSES
from gankit.data.transforms import resize_batch
from gankit.data.translation import Side, assemble, edges, no_pairs
from gankit.errors import UserError
from gankit.registry import DATASETS

VERSION = 1  # of the padding, resizing and edges: part of the cache file name
SIDES = (32, 64)
EDGE_LOW, EDGE_HIGH = 24.0, 48.0  # grey levels, after a 3x3 blur: garments are textured
SNEAKER, BOOT = FASHION_CLASSES.index("Sneaker"), FASHION_CLASSES.index("Ankle boot")


def _garments(cfg: DataConfig, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(images uint8 (N, 1, S, S), classes int64 (N,), S) of the split, padded (and resized)."""
    if cfg.split not in ("train", "test"):
        raise UserError(f"dataset {name!r} has splits train, test; got data.split={cfg.split!r}")
    side = cfg.resolution or 32
    if side not in SIDES:
        raise UserError(f"dataset {name!r} comes at 32 (28 px padded) or 64 px; got data.resolution={side}")
    source = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", path=cfg.path, split=cfg.split))
    x = source.fields["x"].numpy()  # uint8 (N, 1, 28, 28)
    x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))  # black, like Fashion-MNIST's own background
    if side != 32:
        f = resize_batch(torch.from_numpy(x).float().div_(127.5).sub_(1.0), side)
        x = f.add_(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).numpy()
    return np.ascontiguousarray(x), source.fields["y"].numpy(), side


def _channels(cfg: DataConfig, name: str, x: np.ndarray) -> Tensor:
    if cfg.channels not in (0, 1, 3):
        raise UserError(f"dataset {name!r} is gray: data.channels 0, 1 or 3 (gray repeated)")
    t = torch.from_numpy(x)
    return t.expand(-1, 3, -1, -1).contiguous() if cfg.channels == 3 else t


def _labels(y: np.ndarray) -> dict[str, tuple[Tensor, FieldSpec]]:
    spec = FieldSpec("label", (), len(FASHION_CLASSES), tuple(FASHION_CLASSES))
    return {"y": (torch.from_numpy(np.asarray(y, np.int64)), spec)}


@DATASETS.register("fashion-edges")
def load_fashion_edges(cfg: DataConfig) -> TensorData:
    """Edges of Fashion-MNIST garments (1 channel, black on white) -> the garments."""
    x, y, side = _garments(cfg, "fashion-edges")
    key = hashlib.sha1(x.tobytes()).hexdigest()[:12]  # the edges follow the images, wherever they came from
    path = cache_file(f"fashion-edges-v{VERSION}-{side}px-{cfg.split}-{len(x)}-{key}.npz")
    lines = cached_arrays(path, lambda: {"edges": edges(x, EDGE_LOW, EDGE_HIGH, blur=True)}, "fashion-edges")["edges"]
    labels = _labels(y)
    a, b = Side(torch.from_numpy(lines), labels=labels), Side(_channels(cfg, "fashion-edges", x), labels=labels)
    # Ground truth is the garment itself (and its class): the test split is paired.
    return assemble(cfg, "fashion-edges", a, b, pairs=True, truth={},
                    source=f"fashion-edges:{cfg.split}:{side}px:n={len(x)}:{cfg.direction}")


@DATASETS.register("fashion-sneaker2boot")
def load_fashion_sneaker2boot(cfg: DataConfig) -> TensorData:
    """Fashion-MNIST sneakers (A) and ankle boots (B), unpaired: no ground truth exists."""
    if cfg.paired:
        raise no_pairs("fashion-sneaker2boot")
    x, y, side = _garments(cfg, "fashion-sneaker2boot")
    x = _channels(cfg, "fashion-sneaker2boot", x)
    sides = []
    for cls in (SNEAKER, BOOT):
        rows = torch.from_numpy(np.flatnonzero(y == cls))
        if not len(rows):
            raise UserError(f"fashion-sneaker2boot: the Fashion-MNIST {cfg.split} split has no "
                            f"{FASHION_CLASSES[cls]!r} images (class {cls})")
        sides.append(Side(x[rows], labels=_labels(y[rows.numpy()])))
    return assemble(cfg, "fashion-sneaker2boot", *sides, pairs=False,
                    source=f"fashion-sneaker2boot:{cfg.split}:{side}px:{cfg.direction}")


__all__ = ["BOOT", "SNEAKER", "load_fashion_edges", "load_fashion_sneaker2boot"]
