"""What `gankit evaluate` compares: reference data (a dataset split) and generated samples
from any source (a folder of images or an .npy array), brought to the reference's shape.

    --real fashion-mnist:test     a registered dataset and split (default: test, else train)
    --real DIR                    a folder of images (class sub-folders give labels)
    --fake DIR | FILE.npy         images from any toolkit; class sub-folders named by class
                                  (index or name) say which class each sample was asked for
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.transforms import convert_channels, resize_batch, to_tensor
from gankit.errors import UserError
from gankit.metrics.features import load_split
from gankit.registry import DATASETS


@dataclass
class Reference:
    data: TensorData  # the whole split
    data_cfg: DataConfig  # with the split that was used
    name: str  # "fashion-mnist:test"
    note: str = ""  # why this split, when it was not the one asked for


def parse_real(spec: str) -> tuple[DataConfig, str | None]:
    """'fashion-mnist', 'fashion-mnist:test' or a directory -> (DataConfig, split asked or None)."""
    name, sep, split = spec.partition(":")
    if name not in DATASETS and Path(spec).expanduser().is_dir():  # a registered name wins over ./name/
        return DataConfig(name="folder", path=str(Path(spec).expanduser())), None
    DATASETS.get(name)  # unknown names: one line listing the datasets
    if sep and split not in ("train", "test"):
        raise UserError(f"--real {spec}: the split after ':' must be train or test, got {split!r}")
    return DataConfig(name=name), (split or None)


def reference(data_cfg: DataConfig, split: str | None, field: str = "x") -> Reference:
    """The reference split: the one asked for, else test when the dataset has one, else train; its
    images are the data field `field` (x, or a translation's target domain such as x_b)."""
    ref = _reference_split(data_cfg, split)
    if field != "x":
        owner = next((d for d in (ref.data, *ref.data.domains.values()) if field in d.fields), None)
        if owner is None:
            raise UserError(f"dataset {data_cfg.name!r} has no field {field!r} to compare samples with")
        y = owner.fields.get("y")
        specs = {"x": replace(owner.specs[field], kind="image")} | ({"y": owner.specs["y"]} if y is not None else {})
        fields = {"x": owner.fields[field]} | ({"y": y} if y is not None else {})
        ref = Reference(TensorData(fields, specs, source=f"{owner.source} field {field}"), ref.data_cfg,
                        f"{ref.name}:{field}", ref.note)
    return ref


def _reference_split(data_cfg: DataConfig, split: str | None) -> Reference:
    if split is not None:
        data = load_split(data_cfg, split)
        if data is None:
            raise UserError(f"dataset {data_cfg.name!r} has no {split} split")
        return Reference(data, replace(data_cfg, split=split), f"{data_cfg.name}:{split}")
    test = load_split(data_cfg, "test")
    if test is not None:
        return Reference(test, replace(data_cfg, split="test"), f"{data_cfg.name}:test")
    train = load_split(data_cfg, "train")
    assert train is not None  # load_split raises for anything but a missing split
    return Reference(train, replace(data_cfg, split="train"), f"{data_cfg.name}:train",
                     note="the dataset has no test split, so the reference is its train split")


def subset(data: TensorData, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """n examples chosen at random (seeded), or all of them when there are no more than n."""
    if n >= len(data):
        return data.x, data.y
    idx = torch.randperm(len(data), generator=generator)[:n].sort().values
    return data.take(idx, ("x",))["x"], (data.y[idx] if data.y is not None else None)


def _from_array(arr: np.ndarray, path: Path) -> Tensor:
    """(N,H,W), (N,C,H,W) or (N,H,W,C) uint8 0..255 or float in [-1, 1] -> float32 (N,C,H,W)."""
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or len(arr) == 0:
        raise UserError(f"{path}: expected images (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {arr.shape}")
    if arr.shape[1] not in (1, 3) and arr.shape[3] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    if arr.shape[1] not in (1, 3):
        raise UserError(f"{path}: expected 1 or 3 channels, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return to_tensor(np.ascontiguousarray(arr.transpose(0, 2, 3, 1)))
    if not np.issubdtype(arr.dtype, np.floating):
        raise UserError(f"{path}: expected uint8 (0..255) or float ([-1, 1]) pixels, got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise UserError(f"{path}: the array holds NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0 and hi <= 1:
        raise UserError(f"{path}: every value is in [0, 1] (pixels in [0, 1]?); gankit's float pixels are in [-1, 1]: "
                        "save x * 2 - 1, or uint8 0..255")
    if lo < -1.001 or hi > 1.001 or lo >= 0:
        raise UserError(f"{path}: float pixels must be in [-1, 1] (gankit's convention), got [{lo:.3g}, {hi:.3g}]; "
                        "save uint8 0..255 instead, or rescale with x * 2 - 1 from [0, 1]")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).clamp_(-1, 1)


def _asked_labels(folder: TensorData, ref: TensorData) -> Tensor | None:
    """Class sub-folders of --fake named '3' or 'Trouser' -> the classes the samples were asked for."""
    if folder.y is None or not folder.class_names:
        return None
    names = folder.class_names
    if all(n.isdigit() and int(n) < max(ref.num_classes, 1) for n in names):
        index = [int(n) for n in names]
    elif all(n in ref.class_names for n in names):
        index = [ref.class_names.index(n) for n in names]
    else:
        warnings.warn(f"--fake sub-folders ({', '.join(names[:4])} ...) are not classes of the reference data "
                      "(indices or names): conditional accuracy is not available", stacklevel=3)
        return None
    return torch.tensor(index, dtype=torch.int64)[folder.y]


def load_fake(path_arg: str, ref: TensorData, n: int) -> tuple[Tensor, Tensor | None, str]:
    """Generated images from a folder or .npy at the reference's shape: (x, asked labels, description)."""
    path = Path(path_arg).expanduser()
    if not path.exists():
        raise UserError(f"--fake {path} does not exist")
    c, side = ref.shape[0], ref.shape[1]
    if path.is_dir():
        folder = DATASETS.get("folder")(DataConfig(name="folder", path=str(path), channels=c, resolution=side, limit=n))
        return folder.x, _asked_labels(folder, ref), f"folder {path} ({len(folder)} images)"
    if path.suffix.lower() != ".npy" or not path.is_file():  # not a FIFO or device: np.load would block on it
        raise UserError(f"--fake must be a folder of images or a .npy file, got {path}")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError):
        # numpy's own message advises enabling pickle loading, which would run code from the file
        raise UserError(f"{path} is not a NumPy .npy array of numbers (no valid header, or pickled objects, "
                        "which gankit never loads)") from None
    if arr.ndim < 3:
        raise UserError(f"{path}: expected images (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {arr.shape}")
    x = _from_array(np.asarray(arr[:n]), path)
    x = resize_batch(convert_channels(x, c), side) if tuple(x.shape[1:]) != tuple(ref.shape) else x
    if tuple(x.shape[1:]) != tuple(ref.shape):
        raise UserError(f"{path}: images of shape {tuple(x.shape[1:])} cannot be compared with {tuple(ref.shape)}")
    return x.contiguous(), None, f"array {path} ({len(x)} images)"
