"""Image datasets: Fashion-MNIST and MNIST (IDX files) and scikit-learn's 8x8 digits,
plus the helpers shared by cifar.py and folder.py.

Every loader is registered in `DATASETS`, takes a `DataConfig` and returns a
`TensorData` with x float32 (N, C, H, W) in [-1, 1], y int64 (N,) (or None for an
unlabelled folder). Common options, applied in this order:
  data.split       train | test (the folder has only train)
  data.limit       > 0 keeps the first `limit` examples
  data.channels    1 or 3 converts (gray -> RGB repeats, RGB -> gray is ITU-R 601 luma)
  data.resolution  > 0 resizes to a square side (centre-crop first)
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import TensorData, decode
from gankit.data.transforms import convert_channels, resize_batch, to_uint8_tensor
from gankit.errors import UserError
from gankit.registry import DATASETS

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "IDX file format").
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLITS = {"train": "train", "test": "t10k"}  # data.split -> IDX file prefix


def _check_split(cfg: DataConfig, name: str, splits: tuple[str, ...] = ("train", "test")) -> None:
    if cfg.split not in splits:
        raise UserError(f"dataset {name!r} has split(s) {', '.join(splits)}; got data.split={cfg.split!r}")


def _finish(x: Tensor, y: np.ndarray | None, cfg: DataConfig, class_names: list[str],
            source: str) -> TensorData:
    """Channels and resolution for a (N,C,H,W) tensor already cut to data.limit.

    x is uint8 (8-bit sources: stored as uint8, decoded per batch) or float32 in [-1, 1]. Converting or
    resizing works in float and keeps the result float32: rounding it back to 8 bits would change the
    data (and every result trained on it) for a memory saving that a resized set rarely needs."""
    wants_change = (cfg.channels not in (0, x.shape[1])) or (cfg.resolution > 0 and cfg.resolution != x.shape[-1])
    if wants_change:
        if x.dtype == torch.uint8:
            x = decode("image", x)
        if cfg.channels == 1:  # fewer channels first: less to resize
            x = convert_channels(x, 1)
        if cfg.resolution > 0:
            x = resize_batch(x, cfg.resolution)
        x = convert_channels(x, cfg.channels)
    if y is None:
        return TensorData.labelled(x, source=source)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64).copy())
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise UserError(f"{source}: labels outside 0..{len(class_names) - 1}")
    return TensorData.labelled(x, labels, class_names, source=source)


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)

def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into an array of its declared shape.

    Returns e.g. uint8 (60000, 28, 28) for images or (60000,) for labels; multi-byte
    types come back in native byte order. A bad magic number, a truncated file or
    trailing bytes raise UserError naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the name
            raw = gzip.decompress(raw)  # one call: ~0.3 s for the 47 MB Fashion-MNIST train images
    except FileNotFoundError:
        raise UserError(f"IDX file {path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"IDX file {path} is a damaged gzip file ({exc}); download it again") from None
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise UserError(f"{path} is not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"IDX file {path} is truncated: header cut after {len(raw)} bytes")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = math.prod(dims)
    expected = header + count * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise UserError(f"IDX file {path} is {what}: {len(raw)} bytes, expected {expected} for shape {dims}")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr if dtype.itemsize == 1 else arr.astype(dtype.newbyteorder("="))


def _idx_file(directory: Path, stem: str, dataset: str, how: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    where = "" if directory.is_dir() else " (the directory does not exist)"
    raise UserError(f"{dataset}: file {directory / (stem + '.gz')} is missing{where}; {how}")


def _load_idx_dataset(cfg: DataConfig, name: str, directory: Path, how: str,
                      class_names: list[str]) -> TensorData:
    _check_split(cfg, name)
    prefix = _SPLITS[cfg.split]
    images = read_idx(_idx_file(directory, f"{prefix}-images-idx3-ubyte", name, how))
    labels = read_idx(_idx_file(directory, f"{prefix}-labels-idx1-ubyte", name, how))
    if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"{name} in {directory}: expected uint8 images (N,H,W) and N labels, "
                        f"got {images.dtype} {images.shape} and {labels.shape}")
    n = cfg.limit or None  # data.limit = 0 keeps all
    x = to_uint8_tensor(images[:n])  # uint8 (N,1,28,28)
    return _finish(x, labels[:n], cfg, class_names, f"{name}:{cfg.split}:{directory}")


@DATASETS.register("fashion-mnist")
def load_fashion_mnist(cfg: DataConfig) -> TensorData:
    """Fashion-MNIST 28x28 gray, 10 classes (60,000 train / 10,000 test)."""
    default = os.environ.get("GANKIT_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
    directory = Path(cfg.path or default)
    how = ("install it with `apt-get install dataset-fashion-mnist`, or `--set data.path=DIR` with "
           "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
           "t10k-labels-idx1-ubyte.gz in DIR")
    return _load_idx_dataset(cfg, "fashion-mnist", directory.expanduser(), how, FASHION_CLASSES)


@DATASETS.register("mnist")
def load_mnist(cfg: DataConfig) -> TensorData:
    """MNIST handwritten digits 28x28 gray, 10 classes (60,000 train / 10,000 test)."""
    directory = Path(cfg.path or os.environ.get("GANKIT_MNIST") or "~/.cache/gankit/mnist").expanduser()
    how = (f"put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
           f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in {directory}, "
           "or `--set data.path=DIR` / GANKIT_MNIST=DIR for another folder")
    return _load_idx_dataset(cfg, "mnist", directory, how, DIGIT_CLASSES)


# ---------------------------------------------------------------- scikit-learn digits

@DATASETS.register("digits")
def load_digits(cfg: DataConfig) -> TensorData:
    """scikit-learn's bundled 8x8 digits (1,797 images, 0..16): first 80% train, last 20% test."""
    _check_split(cfg, "digits")
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise UserError("dataset 'digits' needs scikit-learn: pip install scikit-learn") from None
    bunch = sk_load_digits()
    images = np.asarray(bunch.images, dtype=np.float32)  # (1797, 8, 8) in 0..16
    cut = len(images) - len(images) // 5  # deterministic, no shuffling: 1438 / 359
    part = slice(0, cut) if cfg.split == "train" else slice(cut, None)
    n = cfg.limit or None
    images, target = images[part][:n], np.asarray(bunch.target)[part][:n]
    x = torch.from_numpy(images[:, None] / 8.0 - 1.0)  # 0..16 -> [-1, 1], (N,1,8,8)
    return _finish(x, target, cfg, DIGIT_CLASSES, f"sklearn.datasets.load_digits:{cfg.split}")
