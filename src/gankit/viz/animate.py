"""Animated GIFs from frames or from the PNGs a run writes (samples/step-*.png).

All frames share one palette built from all of them, so colours do not
flicker between frames, and no dithering is used, so output is deterministic.
"""
from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gankit.files import atomic_write
from gankit.viz.grids import to_pil

MAX_FRAMES = 60
_PALETTE_SAMPLE = 1_000_000  # pixels used to build the shared palette


def _fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Letterbox `img` into `size` (nearest-neighbour scale, centred, white pad)."""
    if img.size == size:
        return img
    w, h = size
    scale = min(w / img.width, h / img.height)
    nw, nh = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    scaled = img.resize((nw, nh), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(scaled, ((w - nw) // 2, (h - nh) // 2))
    return canvas


def _shared_palette(frames: Sequence[Image.Image]) -> Image.Image:
    """One 256-colour palette (P image) from a strided sample of every frame."""
    pix = np.concatenate([np.asarray(f).reshape(-1, 3) for f in frames])
    stride = max(1, len(pix) // _PALETTE_SAMPLE)
    sample = np.ascontiguousarray(pix[::stride][None, :, :])  # (1, P, 3)
    # Median cut is deterministic (unlike k-means seeded variants).
    return Image.fromarray(sample).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def save_gif(
    frames: Sequence[np.ndarray],
    path: str | os.PathLike[str],
    duration_ms: int = 200,
    loop: int = 0,
) -> Path:
    """Write uint8 frames (H, W) or (H, W, 3) as an animated GIF; returns path.

    Frames of another size are letterboxed into the first frame's size.
    loop=0 repeats forever. Note that the GIF encoder merges consecutive
    identical frames (summing their durations), so n_frames can then be lower.
    """
    if len(frames) == 0:
        raise ValueError("save_gif needs at least one frame")
    if duration_ms <= 0:
        raise ValueError(f"duration_ms must be > 0, got {duration_ms}")
    imgs = [to_pil(f).convert("RGB") for f in frames]
    size = imgs[0].size
    imgs = [_fit(im, size) for im in imgs]
    palette = _shared_palette(imgs)
    pal_frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in imgs]
    buf = io.BytesIO()
    pal_frames[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=pal_frames[1:],
        duration=int(duration_ms),
        loop=int(loop),
        optimize=False,
        disposal=1,  # keep each frame: they are full-size anyway
    )
    return atomic_write(path, buf.getvalue())


def evenly_spaced(n: int, k: int = MAX_FRAMES) -> list[int]:
    """Indices of at most k of n items, evenly spread, always with first and last."""
    if n <= 0:
        return []
    if n <= k:
        return list(range(n))
    if k <= 1:
        return [n - 1]
    # k <= n, so consecutive values differ by >= 1 and rounding keeps them distinct.
    return [int(round(i * (n - 1) / (k - 1))) for i in range(k)]


def _step_label(path: Path) -> str:
    """'step-000500.png' -> 'step 500'; the file stem when there is no number."""
    nums = re.findall(r"\d+", path.stem)
    return f"step {int(nums[-1])}" if nums else path.stem


def _add_caption(img: Image.Image, text: str) -> Image.Image:
    """Put `text` in a white band above the image (default PIL font)."""
    font = ImageFont.load_default()
    band = 16
    out = Image.new("RGB", (img.width, img.height + band), (255, 255, 255))
    out.paste(img, (0, band))
    ImageDraw.Draw(out).text((3, 2), text, fill=(0, 0, 0), font=font)
    return out


def gif_from_pngs(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    duration_ms: int = 200,
    *,
    max_frames: int = MAX_FRAMES,
    caption: bool = True,
) -> Path:
    """Animate PNG files (in the order given) into `out`; returns `out`.

    More than max_frames inputs are subsampled evenly, keeping first and last.
    caption=True adds a band reading "step N" parsed from each file name.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("gif_from_pngs needs at least one PNG")
    frames: list[np.ndarray] = []
    for i in evenly_spaced(len(paths), max_frames):
        with Image.open(paths[i]) as im:
            img = im.convert("RGB")
        if caption:
            img = _add_caption(img, _step_label(paths[i]))
        frames.append(np.asarray(img))
    return save_gif(frames, out, duration_ms=duration_ms)
