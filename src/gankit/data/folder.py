"""A folder of image files (any sizes and modes); class sub-folders give labels; captions.jsonl and
tags.csv beside them give captions and tags (folder_conditions.py).

data.cache says where the decoded pixels live: "memory" decodes the files into RAM at every load;
"memmap" decodes them once into a disk cache (memmap_cache.py) that later loads map without decoding,
and batches read only their rows, so a folder larger than memory trains; "auto" (the default) maps
when the decoded images would take more than AUTO_FRACTION of the memory available. Both give the
same bytes (folder_decode.py decodes for both). Unreadable files are skipped with one warning.
"""
from __future__ import annotations

import itertools
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data import memmap_cache
from gankit.data.base import TensorData
from gankit.data.folder_decode import decode_files, shown, unreadable
from gankit.data.folder_conditions import attach, read_conditions
from gankit.data.images import _check_split, _finish
from gankit.data.sentences import with_sentence_vectors
from gankit.errors import UserError
from gankit.registry import DATASETS

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


# ---------------------------------------------------------------- folder of images

# data.cache = "auto" maps the cache when the decoded images would take more than this share of the
# memory available now: the rest is for the nets, the batches and other runs.
AUTO_FRACTION = 0.25


def _images_in(folder: Path, recursive: bool) -> list[str]:
    """The image files in `folder` (and its sub-folders when `recursive`, not following links to
    folders), hidden files and folders left out, sorted as paths (by their parts). os.scandir and one
    sort key per file, and paths kept as strings: Path objects (compared pairwise) took ~20 s for
    200,000 files, and making them still takes seconds."""
    found: list[tuple[tuple[str, ...], str]] = []
    todo: list[tuple[str, tuple[str, ...]]] = [(str(folder), ())]
    while todo:
        where, parts = todo.pop()
        with os.scandir(where) as entries:
            for e in entries:
                if e.name.startswith("."):
                    continue
                if recursive and e.is_dir() and not e.is_symlink():
                    todo.append((e.path, (*parts, e.name)))
                elif e.name.lower().endswith(IMAGE_EXTENSIONS) and e.is_file():  # is_file follows a link to a file
                    found.append(((*parts, e.name), e.path))
    found.sort(key=lambda f: f[0])
    return [path for _, path in found]


def _scan_folder(root: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """(file, label) pairs and class names; label -1 and no names when unlabelled. Files are paths
    as strings, str(root) joined with the path below it."""
    with os.scandir(root) as entries:
        subdirs = sorted(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
    classes = [(d.name, _images_in(d, recursive=True)) for d in subdirs]
    loose = _images_in(root, recursive=False)
    if not any(files for _, files in classes):
        return [(f, -1) for f in loose], []
    empty = [name for name, files in classes if not files]
    if empty:  # dropping it would silently shift the labels of every class after it
        raise UserError(f"folder {root}: class sub-folder {empty[0]!r} has no images; add images to it or move it "
                        f"away (labels are the sub-folders in sorted order)")
    if loose:
        warnings.warn(f"folder {root}: ignored {len(loose)} image(s) lying next to the class "
                      f"sub-folders (e.g. {Path(loose[0]).name})", stacklevel=3)
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
    need = min(cfg.limit, len(items)) if cfg.limit > 0 else len(items)
    mapped = _use_memmap(cfg.cache, need * channels * side * side)
    cached = memmap_cache.open_or_build(root, items, channels, side) if mapped else None
    x, keep, bad = _from_cache(cached, len(items), need) if cached else _in_memory(root, items, channels, side, need)
    if bad:
        where = f"; all of them are listed in {cached.log}" if cached and cached.log else ""
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {root}: "
                      f"{shown(root, [items[i][0] for i in bad])}{where}", stacklevel=2)
    kinds = f"in {len(class_names)} classes ({', '.join(class_names[:5])}{' ...' if len(class_names) > 5 else ''})" \
        if class_names else "without class labels"
    how = f", memory-mapped from {cached.path}" if cached else ""
    print(f"gankit: folder {root}: {len(keep)} images {kinds}, {side}x{side}x{channels}{how}", file=sys.stderr)
    y = np.asarray([items[i][1] for i in keep]) if class_names else None
    data = _finish(x, y, cfg, class_names, f"folder:{root}")
    if cached is not None:
        data.mapped["x"] = cached.pixels.gather
    data = attach(data, root, [items[i][0] for i in keep], conditions)
    return with_sentence_vectors(data, cfg.text_encoder)


def _available_bytes() -> int:
    """Memory available to a new allocation now (Linux: MemAvailable, counting reclaimable caches)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _use_memmap(cache: str, decoded_bytes: int) -> bool:
    return cache == "memmap" or (cache == "auto" and decoded_bytes > AUTO_FRACTION * _available_bytes())


def _in_memory(root: Path, items: list[tuple[str, int]], channels: int, side: int,
               need: int) -> tuple[Tensor, list[int], list[int]]:
    """The first `need` readable files decoded into memory: (uint8 (n, C, side, side), their positions
    in `items`, the positions of the unreadable files met on the way)."""
    out = np.empty((need, channels, side, side), np.uint8)  # filled in place: no second copy while stacking
    keep: list[int] = []
    bad: list[int] = []
    pos = 0
    while len(keep) < need and pos < len(items):  # refill when corrupt files fell out
        base, part = pos, items[pos : pos + need - len(keep)]
        for pixels, skipped in decode_files([p for p, _ in part], channels, side):  # in order, chunk by chunk
            out[len(keep) : len(keep) + len(pixels)] = pixels
            size, wrong = len(pixels) + len(skipped), {base + i for i in skipped}
            keep += [i for i in range(pos, pos + size) if i not in wrong]
            bad += sorted(wrong)
            pos += size
    if not keep:
        raise UserError(unreadable(root, [items[i][0] for i in bad]))
    return torch.from_numpy(out[: len(keep)]), keep, bad


def _from_cache(cached: memmap_cache.Cached, files: int, need: int) -> tuple[Tensor, list[int], list[int]]:
    """Like `_in_memory`, from the folder's mapped cache (all files decoded once): x is a view of the
    mapping, so rows are read from disk (or the page cache) only when a batch gathers them."""
    wrong = set(cached.skipped)
    keep = [i for i in range(files) if i not in wrong][:need]
    return cached.pixels.tensor[: len(keep)], keep, cached.skipped  # a view: no pixel is read here
