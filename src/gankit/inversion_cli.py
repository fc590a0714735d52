"""`gankit encode | reconstruct | interpolate`: a trained ALI / BiGAN encoder E on the user's own inputs.

    gankit encode RUN IMAGES_DIR|FILE.png|FILE.npy --out z.npy       z = mean of q(z | x), float32 (N, z_dim)
    gankit reconstruct RUN IMAGES --out grid.png                     input | G(E(x)) pairs and their MSE
    gankit interpolate RUN [--from A.png] [--to B.png] --steps 8 --out strip.png
                                                                     A | G(z_0) ... G(z_{steps-1}) | B

Images are read with translate's helpers, so they are brought to the run's channels and size the same
way (a different size is resized with a warning). A .npy holds images (N, C, H, W) or, for one channel,
(N, H, W), as uint8 pixels 0..255 or floats in [-1, 1]; for a toy run, (N, 2) points. Every input is
read and checked before anything is written, and --out is written atomically.
"""
from __future__ import annotations

import argparse
import io
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from gankit.cli_types import SEED, int_in
from gankit.errors import UserError
from gankit.translate import MAX_INPUTS, input_files, read_images

if TYPE_CHECKING:  # the parser is built by every command: torch and numpy load only when one of these runs
    import torch

    from gankit.train.restore import Restored

MAX_POINTS = 100_000  # rows of a toy run's .npy: as many as `gankit sample` draws into one picture
MAX_STEPS = 1000  # points on one interpolation strip
CHUNK = 256  # inputs per forward pass: bounded memory whatever N is
NPY_HELP = ("a .npy holds images (N, C, H, W) or (N, H, W) as uint8 pixels 0..255 or floats in [-1, 1], "
            "or (N, 2) points for a toy run")


def check_out(out: Path, suffix: str, force: bool) -> None:
    if out.suffix.lower() != suffix:
        raise UserError(f"--out must be a {suffix} file, got {out}")
    if out.exists() and not force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")


def open_run(run_dir: Path) -> Restored:
    """The run's sampling players (EMA copies where kept); a game without an encoder is refused."""
    from gankit.train.restore import restore

    run = restore(run_dir)
    if not hasattr(run.game, "infer"):
        raise UserError(f"{run_dir} is a {run.cfg.game.name} run: it has no encoder; train an ali run "
                        "(game.name=ali)")
    return run


def read_npy(path: Path, run: Restored, flag: str = "") -> torch.Tensor:
    """The run's x from a .npy: (N, C, H, W) in [-1, 1] at the run's channels and size, or (N, 2) points;
    one example only for `flag` (--from / --to)."""
    import numpy as np
    import torch

    from gankit.data.transforms import convert_channels, resize_batch

    try:  # memory-mapped: the shape is checked before a large file is read
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise UserError(f"{path} is not a .npy array NumPy can read") from None
    if not isinstance(a, np.ndarray):  # an .npz archive under a .npy name
        a.close()
        raise UserError(f"{path} is an .npz archive; save one array with numpy.save")
    field = run.spec["x"]
    if field.kind == "points":
        a = a[None] if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1:] != field.shape or a.dtype.kind not in "fiu":
            raise UserError(f"{path} holds a {a.dtype} array of shape {a.shape}; this toy run takes (N, "
                            f"{field.shape[0]}) points")
        limit = MAX_POINTS
    else:
        a = a[:, None] if a.ndim == 3 else a
        if a.ndim != 4 or a.shape[1] not in (1, 3):
            hint = ("; it looks channels-last: transpose it to (N, C, H, W)" if a.ndim == 4 and a.shape[3] in (1, 3)
                    else "")
            raise UserError(f"{path} holds an array of shape {a.shape}; this run takes images (N, C, H, W) with "
                            f"C = 1 or 3, or (N, H, W){hint}")
        if a.dtype != np.uint8 and a.dtype.kind != "f":
            raise UserError(f"{path} holds {a.dtype} values; give uint8 pixels 0..255 or floats in [-1, 1]")
        limit = MAX_INPUTS
    if flag and len(a) != 1:
        raise UserError(f"{flag} {path} holds {len(a)} examples; give one")
    if not 0 < len(a) <= limit:
        raise UserError(f"{path} holds {len(a)} examples; give 1 to {limit} at a time")
    x = torch.from_numpy(np.array(a, dtype=np.float32))
    if not torch.isfinite(x).all():
        raise UserError(f"{path} holds NaN or infinite values")
    if field.kind == "points":
        return x
    if a.dtype == np.uint8:
        x = x.div_(127.5).sub_(1.0)
    elif x.min() < -1 - 1e-4 or x.max() > 1 + 1e-4:  # a little slack for (p / 127.5 - 1) rounding
        raise UserError(f"{path} holds floats in [{x.min():.4g}, {x.max():.4g}]; give floats in [-1, 1] or "
                        "uint8 pixels 0..255")
    elif x.min() >= 0:  # the data's black is -1: all values >= 0 are most likely [0, 1] pixels
        warnings.warn(f"{path.name}: every value is >= 0; if these are [0, 1] pixels, rescale them to [-1, 1] "
                      "(2 x - 1)", stacklevel=2)
    c, h, w = field.shape
    x = convert_channels(x.clamp_(-1, 1), c)  # 1 -> 3 repeats gray, 3 -> 1 takes luma, as translate's images
    if x.shape[2:] != (h, w):
        warnings.warn(f"resized {path.name}'s {x.shape[3]}x{x.shape[2]} images to the run's {w}x{h}: the "
                      "encoder works best at the size it was trained on", stacklevel=2)
        x = resize_batch(x, h)
    return x


def read_inputs(path: Path, run: Restored, run_dir: Path, flag: str = "") -> torch.Tensor:
    """(N, *x shape) for the run from an image, a folder of images or a .npy; `flag` (--from / --to) asks
    for exactly one example."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if flag and path.is_dir():
        raise UserError(f"{flag} takes one image file or .npy, got the folder {path}")
    if path.suffix.lower() == ".npy" and path.is_file():
        return read_npy(path, run, flag)
    if run.spec["x"].kind == "points":
        raise UserError(f"{run_dir} is a toy run on 2D points: give a .npy of (N, 2) points, not {path.name}")
    return read_images(input_files(path), run.spec["x"].shape)  # a file, when `flag` asks for one


def apply(run: Restored, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """fn over x in chunks on the players' device, in eval mode without gradients; float32 on the CPU."""
    import torch

    from gankit.train.device import of_players
    from gankit.train.sampling import evaluating

    device = of_players(run.players.values())
    with evaluating(run.players):
        return torch.cat([fn(x[i : i + CHUNK].to(device)).float().cpu() for i in range(0, len(x), CHUNK)])


def encode(run: Restored, x: torch.Tensor) -> torch.Tensor:
    return apply(run, lambda v: run.game.infer(run.players, v), x)


def save_picture(tiles: torch.Tensor, out: Path, nrow: int | None = None) -> None:
    """Tiles (N, C, H, W) in [-1, 1] as one PNG, enlarged (nearest) to about 256 px like sample grids."""
    from gankit.viz.grids import make_grid, save_png, upscale

    picture = make_grid(tiles, nrow=nrow)
    save_png(upscale(picture, max(1, math.ceil(256 / max(picture.shape[:2])))), out)


def encode_run(run_dir: Path, source: Path, out: Path, force: bool = False) -> Path:
    """Write z = E's mean for each input at `source` to `out` as float32 (N, z_dim)."""
    import numpy as np

    from gankit.files import atomic_write

    check_out(out, ".npy", force)
    run = open_run(run_dir)
    z = encode(run, read_inputs(source, run, run_dir)).numpy().astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, z, allow_pickle=False)
    atomic_write(out, buf.getvalue())
    order = " in sorted file-name order" if source.is_dir() else ""
    print(f"wrote {out}: z of shape {z.shape} float32, the mean of q(z | x) for {len(z)} input(s){order} "
          f"(step {run.step}, {run.sampled_with})")
    return out


def reconstruct_run(run_dir: Path, source: Path, out: Path, force: bool = False) -> float:
    """Write input | G(E(x)) pairs (a scatter for points) to `out`; return the mean squared error
    (on [0, 1] pixels for images, per coordinate for points)."""
    import torch

    from gankit.viz.plots import data_limits, plot_points

    check_out(out, ".png", force)
    run = open_run(run_dir)
    x = read_inputs(source, run, run_dir)
    y = apply(run, lambda v: run.game.reconstruct(run.players, v), x)
    if run.spec["x"].kind == "points":
        mse, what = float(((x - y) ** 2).mean()), "per coordinate"
        plot_points(x, y, out, lim=data_limits(torch.cat([x, y])),
                    title=f"inputs (real) and G(E(x)) (generated), step {run.step}")
    else:
        y = y.clamp(-1, 1)
        mse, what = float((((x - y) / 2) ** 2).mean()), "per pixel on [0, 1] pixels"  # (x+1)/2 - (y+1)/2
        save_picture(torch.cat([x, y], dim=3), out)  # each tile: input | reconstruction
    print(f"wrote {out} ({len(x)} input | G(E(x)) pair(s), step {run.step}, {run.sampled_with})")
    print(f"mean squared error {what}: {mse:.6f}")
    return mse


def interpolate_run(run_dir: Path, start: Path | None, end: Path | None, steps: int, seed: int, out: Path,
                    force: bool = False) -> Path:
    """Decode `steps` points of the line from z_A to z_B (both included) into one strip; an end not given
    is a random z drawn from the run's prior with `seed`."""
    import torch

    check_out(out, ".png", force)
    run = open_run(run_dir)
    drawn = run.game.fixed_inputs(2, torch.Generator().manual_seed(seed))["z"]  # used only for missing ends
    with warnings.catch_warnings(record=True) as caught:  # a bad --to: its error line alone, not A's warnings too
        warnings.simplefilter("always")
        inputs = [read_inputs(p, run, run_dir, flag) if p else None for flag, p in (("--from", start), ("--to", end))]
    for w in caught:
        warnings.warn(w.message, stacklevel=2)
    given = [x for x in inputs if x is not None]  # (1, *x shape) inputs, in strip order
    z_ends = [drawn[i] if x is None else encode(run, x)[0] for i, x in enumerate(inputs)]
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    z = (1 - t) * z_ends[0] + t * z_ends[1]  # exact at t = 0 and t = 1
    y = apply(run, lambda v: run.game.generate(run.players, {"z": v})["fake"], z)  # the game knows its generator
    if run.spec["x"].kind == "points":
        from gankit.viz.plots import data_limits, plot_points

        ends = torch.cat(given) if given else y[:0]
        plot_points(ends, y, out, lim=data_limits(torch.cat([ends, y])),
                    title=f"G along z_A -> z_B ({steps} steps), inputs as real, step {run.step}")
    else:
        tiles = torch.cat(([given[0]] if start else []) + [y.clamp(-1, 1)] + ([given[-1]] if end else []))
        save_picture(tiles, out, nrow=len(tiles))
    names = [str(p) if p else f"random z {i} of seed {seed}" for i, p in enumerate((start, end))]
    print(f"wrote {out} ({steps} steps from {names[0]} to {names[1]}, step {run.step}, {run.sampled_with})")
    return out


def cmd_encode(args: argparse.Namespace) -> int:
    encode_run(Path(args.run_dir), Path(args.input), Path(args.out), args.force)
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    reconstruct_run(Path(args.run_dir), Path(args.input), Path(args.out), args.force)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    start, end = (Path(p) if p else None for p in (args.start, args.end))
    interpolate_run(Path(args.run_dir), start, end, args.steps, args.seed, Path(args.out), args.force)
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    run_help = "a directory made by gankit train with game.name=ali (its newest good checkpoint, EMA of E and G)"
    inputs_help = f"an image file, a folder of images, or a .npy; {NPY_HELP}"
    p = sub.add_parser("encode", help="z = E(x) for your images or points (an ali run)",
                       description="Encode each input with the run's encoder: z is the mean of q(z | x). Images "
                       "are brought to the run's channels and size (a different size is resized, with a warning).")
    p.add_argument("run_dir", help=run_help)
    p.add_argument("input", help=inputs_help + "; the rows of z follow a folder's sorted file names")
    p.add_argument("--out", required=True, help="a .npy to write: float32 (N, z_dim)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_encode)
    p = sub.add_parser("reconstruct", help="input | G(E(x)) pairs and their mean squared error (an ali run)",
                       description="Reconstruct each input through z = E(x) (the mean) and G; write the pairs side "
                       "by side (a toy run: inputs and reconstructions in one scatter) and print the mean squared "
                       "error, on [0, 1] pixels for images.")
    p.add_argument("run_dir", help=run_help)
    p.add_argument("input", help=inputs_help)
    p.add_argument("--out", required=True, help="a .png to write: a grid of input | reconstruction tiles")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_reconstruct)
    p = sub.add_parser("interpolate", help="G along the line between two encoded images (an ali run)",
                       description="Encode A and B, take --steps points of the straight line from z_A to z_B "
                       "(both included) and decode them with G: one strip A | G(z_0) ... G(z_{steps-1}) | B. "
                       "An end left out is a random z from the run's prior, drawn with --seed, and has no input "
                       "tile; leave out both to walk between two random z.")
    p.add_argument("run_dir", help=run_help)
    p.add_argument("--from", dest="start", metavar="A", help="the start: one image file or a .npy of one example "
                   "(default: random z 0 of --seed)")
    p.add_argument("--to", dest="end", metavar="B", help="the end: one image file or a .npy of one example "
                   "(default: random z 1 of --seed)")
    p.add_argument("--steps", type=int_in(2, MAX_STEPS), default=8,
                   help=f"points on the line, both ends included (default 8; 2 to {MAX_STEPS})")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the random ends (default 0)")
    p.add_argument("--out", required=True, help="a .png to write: the strip (a toy run: a scatter of the path)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_interpolate)
