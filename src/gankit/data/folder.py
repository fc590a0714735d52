"""A folder of image files (any sizes and modes); class sub-folders give labels; captions.jsonl and
tags.csv beside them give captions and tags (folder_conditions.py)."""
from __future__ import annotations

import itertools
import os
import sys
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.folder_conditions import attach, read_conditions
from gankit.data.sentences import with_sentence_vectors
from gankit.data.transforms import resize_square, to_channels, to_uint8_tensor
from gankit.errors import UserError
from gankit.registry import DATASETS
from gankit.data.images import _check_split, _finish

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")




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
        classes.append((d.name, files))
    loose = sorted(f for f in root.iterdir() if _is_image(f))
    if not any(files for _, files in classes):
        return [(f, -1) for f in loose], []
    empty = [name for name, files in classes if not files]
    if empty:  # dropping it would silently shift the labels of every class after it
        raise UserError(f"folder {root}: class sub-folder {empty[0]!r} has no images; add images to it or move it "
                        f"away (labels are the sub-folders in sorted order)")
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
    conditions = read_conditions(root, [path for path, _ in items])  # mismatches refused before any decoding
    need = cfg.limit if cfg.limit > 0 else len(items)
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    kept: list[Path] = []
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
                    kept.append(path)
    shown = ", ".join(str(p.relative_to(root)) for p in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    if not arrays:
        raise UserError(f"none of the {len(bad)} image files in folder {root} could be read ({shown})")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {root}: {shown}", stacklevel=2)
    x = to_uint8_tensor(np.stack(arrays))  # uint8 (N, C, side, side)
    kinds = f"in {len(class_names)} classes ({', '.join(class_names[:5])}{' ...' if len(class_names) > 5 else ''})" \
        if class_names else "without class labels"
    print(f"gankit: folder {root}: {len(arrays)} images {kinds}, {side}x{side}x{channels}", file=sys.stderr)
    y = np.asarray(labels) if class_names else None
    data = attach(_finish(x, y, cfg, class_names, f"folder:{root}"), root, kept, conditions)
    return with_sentence_vectors(data, cfg.text_encoder)
