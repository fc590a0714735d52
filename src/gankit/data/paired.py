"""`folder-pairs`: the user's own translation data, paired (pix2pix, Isola et al. 2017) or unpaired
(CycleGAN, Zhu et al. 2017); field layout as every translation set (translation.py).

data.path = DIR, laid out in one of the formats the two papers' datasets come in:
    DIR/A/, DIR/B/             two folders; paired by file name without extension (A/x.png with B/x.jpg)
    DIR/trainA/ ... testB/     CycleGAN's layout: data.split picks trainA + trainB or testA + testB
    DIR/train/, DIR/test/      pix2pix's layout: each holds A/ + B/ or side-by-side images
    DIR/*.png                  side-by-side A|B images (pix2pix's facades, maps ...): width = 2 x height,
                               the left half is A, the right half B
data.paired=true matches the pairs (every file needs its partner); data.paired=false takes the two
folders as they are, of any sizes and counts (side-by-side images: the A halves of the first half of
the files, the B halves of the second). Files are read once with Pillow into uint8 (N, C, S, S):
C = data.channels (0 = 3), S = data.resolution, or by default the images' own size when they all
share one square size (data.resolution centre-crops and resizes). Only the train split exists for the
plain A/ B/ and side-by-side layouts. data.limit keeps the first pairs (or images) in name order.

Fields: paired   x (N, C, S, S) image, x_b (N, C, S, S) paired_image (row i of each: one pair)
        unpaired x (N_a, C, S, S) image; domains["b"]: x_b (N_b, C, S, S) image
Files without an image extension are skipped with a warning; a damaged image, a missing side,
unmatched names and sizes that do not fit are refused with one line naming the files.
"""
from __future__ import annotations

import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.data.folder import IMAGE_EXTENSIONS
from gankit.data.folder_decode import DECODE_ERRORS as _DECODE_ERRORS
from gankit.data.transforms import resize_square, to_channels, to_uint8_tensor
from gankit.data.translation import Side, assemble
from gankit.errors import UserError
from gankit.registry import DATASETS

SHOWN = 3  # file names quoted in one error line
_ORIENTATION = 0x0112  # EXIF tag: values 5..8 turn the picture by 90 degrees
Item = tuple[Path, str]  # a file and the half of it to read: "" the whole image, "left" or "right"


class _Layout:
    """Where the two sides are: two folders, or one folder of side-by-side images."""

    def __init__(self, root: Path, a: Path | None = None, b: Path | None = None, sbs: Path | None = None) -> None:
        self.root, self.a, self.b, self.sbs = root, a, b, sbs


def _name(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)


def _listing(names: list[str], total: int) -> str:
    return ", ".join(names[:SHOWN]) + (f" and {total - SHOWN} more" if total > SHOWN else "")


def _layout(root: Path, split: str) -> _Layout:
    a, b = root / f"{split}A", root / f"{split}B"
    if a.is_dir() or b.is_dir():
        return _two(root, a, b)
    if (root / split).is_dir():
        return _plain(root, root / split)
    if split != "train":
        raise UserError(f"folder-pairs {root} has no {split} split: add {split}A/ and {split}B/ (or {split}/ with A/ "
                        f"and B/ or side-by-side images), or use data.split=train")
    return _plain(root, root)


def _plain(root: Path, d: Path) -> _Layout:
    if (d / "A").is_dir() or (d / "B").is_dir():
        return _two(root, d / "A", d / "B")
    return _Layout(root, sbs=d)


def _two(root: Path, a: Path, b: Path) -> _Layout:
    for have, missing in ((a, b), (b, a)):
        if not missing.is_dir():
            raise UserError(f"folder-pairs {root}: {_name(root, missing)}/ is missing (found {_name(root, have)}/); "
                            "translation data needs both sides")
    return _Layout(root, a, b)


def _images(root: Path, d: Path, layout: bool = False) -> list[Path]:
    """The image files of folder d (not recursive), sorted by name; other files are skipped with a warning.
    layout: d is where side-by-side images were looked for, after no A/ and B/ were found."""
    files = sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
    images = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
    others = [_name(root, f) for f in files if f.suffix.lower() not in IMAGE_EXTENSIONS]
    if others:
        warnings.warn(f"folder-pairs {root}: skipped {len(others)} file(s) without an image extension "
                      f"({_listing(others, len(others))})", stacklevel=3)
    if not images and not layout:
        raise UserError(f"folder-pairs {root}: {_name(root, d)}/ has no image files ({' '.join(IMAGE_EXTENSIONS)})")
    if not images:
        where = f"{root}: {_name(root, d)}/" if d != root else f"{root}"
        raise UserError(f"folder-pairs {where} has no image files ({' '.join(IMAGE_EXTENSIONS)}); expected A/ "
                        "and B/ (paired by file name), trainA/ and trainB/, or side-by-side A|B images")
    return images


def _by_stem(root: Path, files: list[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        if f.stem in out:
            raise UserError(f"folder-pairs {root}: {_name(root, out[f.stem])} and {_name(root, f)} have the same name; "
                            "pairs are matched by file name without extension")
        out[f.stem] = f
    return out


def _match(root: Path, a: list[Path], b: list[Path]) -> list[tuple[Path, Path]]:
    """(A file, B file) pairs of the same stem, in name order; one line listing the strays otherwise."""
    by_a, by_b = _by_stem(root, a), _by_stem(root, b)
    lone_a, lone_b = sorted(set(by_a) - set(by_b)), sorted(set(by_b) - set(by_a))
    if lone_a or lone_b:
        da, db = _name(root, a[0].parent), _name(root, b[0].parent)
        def strays(lone: list[str], by: dict[str, Path], other: str) -> str:
            return _listing([f"{_name(root, by[s])} has no {other}/{s}.*" for s in lone], len(lone))

        parts = []
        if lone_a:
            parts.append(f"{len(lone_a)} of {len(by_a)} file(s) in {da}/ have no partner in {db}/ "
                         f"({strays(lone_a, by_a, db)})")
        if lone_b:
            parts.append(f"{len(lone_b)} of {len(by_b)} in {db}/ have none in {da}/ ({strays(lone_b, by_b, da)})")
        raise UserError(f"folder-pairs {root}: " + "; ".join(parts) + "; pairs are matched by file name without "
                        "extension (set data.paired=false to use the folders unpaired)")
    return [(by_a[s], by_b[s]) for s in sorted(by_a)]


def _bad_file(root: Path, path: Path, exc: BaseException) -> UserError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return UserError(f"folder-pairs {root}: {_name(root, path)} is not a readable image ({reason}); fix or remove it")


def _size(root: Path, path: Path) -> tuple[int, int]:
    """(width, height) as the picture is shown (EXIF rotation applied), from the header alone."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            turned = img.getexif().get(_ORIENTATION) in (5, 6, 7, 8)
    except _DECODE_ERRORS as exc:
        raise _bad_file(root, path, exc) from None
    return (h, w) if turned else (w, h)


def _read(root: Path, item: Item, channels: int, side: int) -> np.ndarray:
    path, half = item
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            if half:
                h = img.size[1]
                img = img.crop((0, 0, h, h) if half == "left" else (h, 0, 2 * h, h))
            return np.asarray(resize_square(to_channels(img, channels), side))
    except _DECODE_ERRORS as exc:
        raise _bad_file(root, path, exc) from None


def _side_by_side(root: Path, files: list[Path]) -> dict[Path, tuple[int, int]]:
    """Each file's half size, after checking that it is twice as wide as high."""
    sizes = {f: _size(root, f) for f in files}
    wrong = [f for f, (w, h) in sizes.items() if w != 2 * h]
    if wrong:
        shown = _listing([f"{_name(root, f)} is {sizes[f][0]}x{sizes[f][1]}" for f in wrong], len(wrong))
        raise UserError(f"folder-pairs {root}: {len(wrong)} side-by-side image(s) are not twice as wide as high "
                        f"({shown}); a side-by-side A|B image has A on the left half and B on the right")
    return {f: (h, h) for f, (w, h) in sizes.items()}


def _collect(cfg: DataConfig, layout: _Layout) -> tuple[list[Item], list[Item], dict[Path, tuple[int, int]], bool]:
    """The A and B items (paired row by row, or two collections), every file's size, and whether paired."""
    root, keep = layout.root, slice(0, cfg.limit or None)
    if layout.sbs is not None:
        files = _images(root, layout.sbs, layout=True)
        if not cfg.paired:  # disjoint halves of the files, as the built-in sets do
            files = files[: len(files) // 2 * 2]
            half = len(files) // 2
            if not half:
                raise UserError(f"folder-pairs {root}: one side-by-side image cannot be split into two "
                                "unpaired collections")
            a, b = files[:half][keep], files[half:][keep]
        else:
            a = b = files[keep]
        sizes = _side_by_side(root, sorted(set(a) | set(b)))
        return [(f, "left") for f in a], [(f, "right") for f in b], sizes, cfg.paired
    assert layout.a is not None and layout.b is not None
    files_a, files_b = _images(root, layout.a), _images(root, layout.b)
    if cfg.paired:
        pairs = _match(root, files_a, files_b)[keep]
        sizes = {f: _size(root, f) for pair in pairs for f in pair}
        wrong = [(fa, fb) for fa, fb in pairs if sizes[fa] != sizes[fb]]
        if wrong:
            shown = _listing([f"{_name(root, fa)} is {'x'.join(map(str, sizes[fa]))} but {_name(root, fb)} is "
                              f"{'x'.join(map(str, sizes[fb]))}" for fa, fb in wrong], len(wrong))
            raise UserError(f"folder-pairs {root}: {len(wrong)} pair(s) differ in size ({shown}); the two images of a "
                            "pair must be the same size (aligned pixel by pixel)")
        return [(fa, "") for fa, _ in pairs], [(fb, "") for _, fb in pairs], sizes, True
    files_a, files_b = files_a[keep], files_b[keep]
    return [(f, "") for f in files_a], [(f, "") for f in files_b], {f: _size(root, f) for f in files_a + files_b}, False


def _side(root: Path, cfg: DataConfig, sizes: dict[Path, tuple[int, int]]) -> int:
    if cfg.resolution:
        return cfg.resolution
    shapes = sorted(set(sizes.values()))
    if len(shapes) == 1 and shapes[0][0] == shapes[0][1]:
        return shapes[0][0]
    if len(shapes) == 1:
        raise UserError(f"folder-pairs {root}: the images are {shapes[0][0]}x{shapes[0][1]}, not square; set "
                        "data.resolution=S to centre-crop and resize them to SxS")
    first = {}
    for f, s in sizes.items():
        first.setdefault(s, f)
    shown = ", ".join(f"{_name(root, first[s])} is {s[0]}x{s[1]}" for s in shapes[:SHOWN])
    raise UserError(f"folder-pairs {root}: the images have {len(shapes)} different sizes ({shown}); "
                    "set data.resolution=S to centre-crop and resize them all to SxS")


@DATASETS.register("folder-pairs")
def load_folder_pairs(cfg: DataConfig) -> TensorData:
    """The user's translation data: A/ and B/ folders, trainA/ ... testB/, or side-by-side A|B images."""
    if not cfg.path:
        raise UserError("dataset 'folder-pairs' needs `--set data.path=DIR`: DIR/A and DIR/B (paired by file name), "
                        "DIR/trainA and DIR/trainB, or a folder of side-by-side A|B images")
    root = Path(cfg.path).expanduser()
    if not root.is_dir():
        raise UserError(f"data.path {root} is not a directory" if root.exists() else f"data.path {root} does not exist")
    if cfg.split not in ("train", "test"):
        raise UserError(f"dataset 'folder-pairs' has splits train, test; got data.split={cfg.split!r}")
    layout = _layout(root, cfg.split)
    items_a, items_b, sizes, paired = _collect(cfg, layout)
    side, channels = _side(root, cfg, sizes), cfg.channels or 3
    # Pillow releases the GIL while decoding and resizing: threads give a real speed-up.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        a, b = ([*pool.map(lambda it: _read(root, it, channels, side), items)] for items in (items_a, items_b))
    x_a, x_b = to_uint8_tensor(np.stack(a)), to_uint8_tensor(np.stack(b))
    what = f"{len(x_a)} pair(s)" if paired else f"{len(x_a)} A and {len(x_b)} B images (unpaired)"
    print(f"gankit: folder-pairs {root} ({cfg.split}): {what}, {side}x{side}x{channels}", file=sys.stderr)
    return assemble(cfg, "folder-pairs", Side(x_a), Side(x_b), pairs=paired, truth={} if paired else None,
                    source=f"folder-pairs:{root}:{cfg.split}:{cfg.direction}")
