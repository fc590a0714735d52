"""CIFAR-10 (python version), loaded with an unpickler that only rebuilds numpy arrays."""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.transforms import to_uint8_tensor
from gankit.errors import UserError
from gankit.registry import DATASETS
from gankit.data.images import _check_split, _finish

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]




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
    x = to_uint8_tensor(chw.transpose(0, 2, 3, 1))
    return _finish(x, np.concatenate(labels)[:n], cfg, class_names, f"cifar10:{cfg.split}:{root}")
