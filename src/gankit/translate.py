"""`gankit translate RUN INPUT.png|DIR [--direction AtoB|BtoA] --out OUT_DIR|grid.png`

Runs a translation model (pix2pix, CycleGAN) on the user's own images: each file is read with Pillow,
brought to the run's input channels and size (a different size is centre-cropped and resized, with a
warning), translated by the run's sampling copy of the direction's generator, and written either as
one PNG per input into OUT_DIR (same file names) or as one picture of input | output rows.

Directions are the run's: AtoB from its input side (data field x) to its target side (x_b); BtoA
back, which only CycleGAN has (its F). Every file is read and checked before anything is written:
a non-image, a damaged file or an empty folder is one line and exit status 2, and nothing is written.
"""
from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from gankit.errors import UserError

if TYPE_CHECKING:  # the parser is built by every command: torch, numpy and Pillow load only to translate
    import numpy as np
    import torch

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
MAX_INPUTS = 4096


def input_files(path: Path) -> list[Path]:
    """The image files to translate: the file itself, or a folder's image files in sorted order."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                   and not p.name.startswith("."))
    if not files:
        raise UserError(f"folder {path} holds no image files ({', '.join(IMAGE_EXTENSIONS[:4])} ...)")
    if len(files) > MAX_INPUTS:
        raise UserError(f"folder {path} holds {len(files)} images; give at most {MAX_INPUTS} at a time")
    return files


def read_images(files: list[Path], shape: tuple[int, ...]) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] for the run's input `shape`; one line naming a file that is not an image."""
    import numpy as np
    import torch
    from PIL import Image, ImageOps

    from gankit.data.transforms import resize_square, to_channels

    c, h, w = shape
    out, resized = [], []
    for f in files:
        try:
            with Image.open(f) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                if img.size != (w, h):
                    resized.append(f"{f.name} {img.size[0]}x{img.size[1]}")
                arr = np.asarray(resize_square(to_channels(img, c), h), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            raise UserError(f"{f} is not an image Pillow can read") from None
        out.append(arr.reshape(h, w, c))
    if resized:
        warnings.warn(f"resized {len(resized)} image(s) to the run's {w}x{h} (e.g. {resized[0]}): "
                      "a model works best at the size it was trained on", stacklevel=2)
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C) with 3 channels (gray repeated)."""
    import torch

    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def translate_run(run_dir: Path, source: Path, out: Path, direction: str = "AtoB", force: bool = False) -> Path:
    """Translate the images at `source` with the run's `direction` generator; write them to `out`."""
    import torch
    from PIL import Image

    from gankit.train.restore import restore
    from gankit.train.sampling import evaluating
    from gankit.viz.grids import make_grid, save_png, upscale

    grid = out.suffix.lower() == ".png"
    taken = out.exists() and (grid or not out.is_dir() or any(out.iterdir()))  # an empty folder may be filled
    if taken and not force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")
    if not grid and out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder, or a .png for one picture")
    files = input_files(source)
    run = restore(run_dir)
    directions = getattr(run.game, "directions", None)
    if directions is None:
        raise UserError(f"{run_dir} is a {run.cfg.game.name} run, which draws from noise rather than translating "
                        "images: use gankit sample")
    if direction not in directions:
        raise UserError(f"a {run.cfg.game.name} run translates {', '.join(directions)} only (--direction {direction} "
                        "needs a model with both generators: cyclegan)")
    side_in, side_out = ("x", "x_b") if direction == "AtoB" else ("x_b", "x")
    x = read_images(files, run.spec[side_in].shape)
    player = run.players[directions[direction]]
    device = next(player.parameters()).device
    with evaluating(run.players):
        y = torch.cat([player(x[i : i + 256].to(device)).float().cpu() for i in range(0, len(x), 256)])
    if grid:
        shown = max(x.shape[1], y.shape[1])
        pairs = torch.cat([x.expand(-1, shown, -1, -1), y.expand(-1, shown, -1, -1)], dim=3)
        picture = make_grid(pairs)
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(upscale(picture, max(1, math.ceil(256 / max(picture.shape[:2])))), out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for f, img in zip(files, to_uint8(y)):
            Image.fromarray(img).save(out / f"{f.stem}.png")
    print(f"wrote {out} ({len(files)} image(s) {side_in} -> {side_out}, {direction}, step {run.step}, "
          f"{run.sampled_with})")
    return out


def cmd_translate(args: argparse.Namespace) -> int:
    translate_run(Path(args.run_dir), Path(args.input), Path(args.out), args.direction, args.force)
    return 0


def add_subcommand(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help="translate images with a pix2pix or CycleGAN run")
    p.add_argument("run_dir", help="a directory made by gankit train with a translation game")
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                   help="AtoB: the run's input side to its target side (default); BtoA: back (CycleGAN only)")
    p.add_argument("--out", required=True, help="a folder (one PNG per input) or a .png (input | output rows)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_translate)
