"""Image datasets: Fashion-MNIST and MNIST (IDX files), CIFAR-10 (python pickles),
scikit-learn's 8x8 digits, and a folder of image files.

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
import itertools
import math
import os
import pickle
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.transforms import convert_channels, resize_batch, resize_square, to_channels, to_tensor
from gankit.errors import UserError
from gankit.registry import DATASETS

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
DIGIT_CLASSES = [str(i) for i in range(10)]
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "IDX file format").
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLITS = {"train": "train", "test": "t10k"}  # data.split -> IDX file prefix


def _check_split(cfg: DataConfig, name: str, splits: tuple[str, ...] = ("train", "test")) -> None:
    if cfg.split not in splits:
        raise UserError(f"dataset {name!r} has split(s) {', '.join(splits)}; got data.split={cfg.split!r}")


def _finish(x: Tensor, y: np.ndarray | None, cfg: DataConfig, class_names: list[str],
            source: str) -> TensorData:
    """Channels and resolution for a (N,C,H,W) tensor already cut to data.limit."""
    if cfg.channels == 1:  # fewer channels first: less to resize
        x = convert_channels(x, 1)
    if cfg.resolution > 0:
        x = resize_batch(x, cfg.resolution)
    x = convert_channels(x, cfg.channels)
    if y is None:
        return TensorData(x=x, y=None, kind="images", source=source)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64).copy())
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise UserError(f"{source}: labels outside 0..{len(class_names) - 1}")
    return TensorData(x=x, y=labels, num_classes=len(class_names), kind="images",
                      class_names=list(class_names), source=source)


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
    x = to_tensor(images[:n])  # (N,1,28,28)
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


# ---------------------------------------------------------------- CIFAR-10 (python pickles)

def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(text, 'latin1').
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError("unexpected _codecs.encode call")
    return text.encode("latin1")


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    # What numpy writes for arrays in protocol-5 pickles; frombuffer refuses object dtypes.
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


_RECONSTRUCT = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
# The only globals a CIFAR batch may name: numpy array reconstruction, nothing callable beyond it.
_PICKLE_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1_encode,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts/lists/strings/numbers and numpy arrays; any other global is refused."""

    def __init__(self, fh: Any, source: str) -> None:
        super().__init__(fh, encoding="bytes")  # py2 str keys stay bytes: b'data'
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise UserError(f"refusing to unpickle {module}.{name} from {self.source}: "
                            "a CIFAR batch file holds only numpy arrays") from None


def load_pickle_safely(path: Path) -> Any:
    """Load a CIFAR-style pickle (Python 2 or 3) without running code from it."""
    try:
        with open(path, "rb") as fh:
            return _NumpyOnlyUnpickler(fh, str(path)).load()
    except UserError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OSError) as exc:
        raise UserError(f"{path} is not a readable CIFAR batch pickle ({exc!r})") from None


def _get(d: Any, key: str, path: Path) -> Any:
    if isinstance(d, dict):
        for k in (key.encode(), key):
            if k in d:
                return d[k]
    raise UserError(f"{path}: expected a dict with key {key!r} (CIFAR-10 python version)")


@DATASETS.register("cifar10")
def load_cifar10(cfg: DataConfig) -> TensorData:
    """CIFAR-10 32x32 RGB, 10 classes (50,000 train / 10,000 test), python-pickle version."""
    _check_split(cfg, "cifar10")
    root = Path(cfg.path or os.environ.get("GANKIT_CIFAR10") or "~/.cache/gankit/cifar10").expanduser()
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if cfg.split == "train" else ["test_batch"]
    pixels, labels = [], []
    for name in names:
        path = root / name
        if not path.is_file():
            raise UserError(f"cifar10: file {path} is missing; download cifar-10-python.tar.gz from "
                            "https://www.cs.toronto.edu/~kriz/cifar.html, extract it and "
                            "`--set data.path=DIR` (DIR holding cifar-10-batches-py)")
        batch = load_pickle_safely(path)
        data = np.asarray(_get(batch, "data", path))
        lab = np.asarray(_get(batch, "labels", path))
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or lab.shape != (len(data),):
            raise UserError(f"{path}: expected uint8 data (N, 3072) and N labels, "
                            f"got {data.dtype} {data.shape} and {lab.shape}")
        pixels.append(data)
        labels.append(lab)
        if cfg.limit > 0 and sum(map(len, pixels)) >= cfg.limit:
            break  # no need to read the remaining batches
    class_names = CIFAR10_CLASSES
    meta = root / "batches.meta"
    if meta.is_file():
        class_names = [n.decode() if isinstance(n, bytes) else str(n)
                       for n in _get(load_pickle_safely(meta), "label_names", meta)]
    n = cfg.limit or None
    # Rows are 1024 R, 1024 G, 1024 B values of a row-major 32x32 image: (N,3,32,32).
    chw = np.concatenate(pixels)[:n].reshape(-1, 3, 32, 32)
    x = to_tensor(chw.transpose(0, 2, 3, 1))
    return _finish(x, np.concatenate(labels)[:n], cfg, class_names, f"cifar10:{cfg.split}:{root}")


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


# ---------------------------------------------------------------- folder of images

# What Pillow raises on damaged or misnamed files, depending on the format plugin.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                  KeyError, TypeError, ZeroDivisionError, Image.DecompressionBombError)


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()


def _decode(path: Path, channels: int, side: int) -> np.ndarray | None:
    """One file -> uint8 (side, side) or (side, side, 3), or None when it can't be decoded."""
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)  # photos: honour the camera's orientation
            return np.asarray(resize_square(to_channels(img, channels), side))
    except _DECODE_ERRORS:
        return None


def _scan_folder(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """(file, label) pairs and class names; label -1 and no names when unlabelled."""
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = []
    for d in subdirs:
        files = sorted(f for f in d.rglob("*") if _is_image(f)
                       and not any(part.startswith(".") for part in f.relative_to(d).parts))
        if files:
            classes.append((d.name, files))
    loose = sorted(f for f in root.iterdir() if _is_image(f))
    if not classes:
        return [(f, -1) for f in loose], []
    if loose:
        warnings.warn(f"folder {root}: ignored {len(loose)} image(s) lying next to the class "
                      f"sub-folders (e.g. {loose[0].name})", stacklevel=3)
    # Round-robin over classes, so that data.limit keeps a class-balanced subset.
    per_class = [[(f, label) for f in files] for label, (_, files) in enumerate(classes)]
    items = [it for group in itertools.zip_longest(*per_class) for it in group if it is not None]
    return items, [name for name, _ in classes]


@DATASETS.register("folder")
def load_folder(cfg: DataConfig) -> TensorData:
    """A folder of images (png jpg bmp gif webp tif), labelled by class sub-folders if any."""
    if not cfg.path:
        raise UserError("dataset 'folder' needs `--set data.path=DIR`: a folder of images, "
                        "or of one sub-folder of images per class")
    root = Path(cfg.path).expanduser()
    if not root.is_dir():
        raise UserError(f"data.path {root} is not a directory" if root.exists()
                        else f"data.path {root} does not exist")
    _check_split(cfg, "folder", ("train",))
    channels, side = cfg.channels or 3, cfg.resolution or 64
    items, class_names = _scan_folder(root)
    if not items:
        raise UserError(f"folder {root} has no image files ({' '.join(IMAGE_EXTENSIONS)})")
    need = cfg.limit if cfg.limit > 0 else len(items)
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    bad: list[Path] = []
    pos = 0
    # Pillow releases the GIL while decoding and resizing: threads give a real speed-up.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        while len(arrays) < need and pos < len(items):  # refill when corrupt files fell out
            chunk = items[pos : pos + need - len(arrays)]
            pos += len(chunk)
            decoded = pool.map(lambda it: _decode(it[0], channels, side), chunk)
            for (path, label), arr in zip(chunk, decoded):
                if arr is None:
                    bad.append(path)
                else:
                    arrays.append(arr)
                    labels.append(label)
    if bad:
        shown = ", ".join(str(p.relative_to(root)) for p in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {root}: {shown}{more}", stacklevel=2)
    if not arrays:
        raise UserError(f"none of the {len(bad)} image files in folder {root} could be read")
    x = to_tensor(np.stack(arrays))  # (N, C, side, side)
    y = np.asarray(labels) if class_names else None
    return _finish(x, y, cfg, class_names, f"folder:{root}")
