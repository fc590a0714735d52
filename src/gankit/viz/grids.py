"""Image grids and deterministic, atomic PNG writing.

Images inside gankit live in [-1, 1] (the range a tanh generator produces);
pictures on disk are uint8. `make_grid` is the one place that converts.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.files import atomic_write


def make_grid(
    images: torch.Tensor,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: float = 1.0,
) -> np.ndarray:
    """Tile a batch of images into one uint8 picture.

    images: (N, C, H, W) with C in {1, 3}, values in [-1, 1] (clamped).
    nrow: images per row; default ceil(sqrt(N)) so the grid is near square.
    padding: pixels between tiles and around the border.
    pad_value: colour of the padding and of empty tiles, on the same [-1, 1]
        scale as the images (1.0 -> white).
    Returns (H', W') uint8 for C=1, (H', W', 3) uint8 for C=3, where
    H' = rows * (H + padding) + padding, W' = nrow * (W + padding) + padding.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"make_grid expects a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"make_grid expects (N, C, H, W), got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("make_grid needs at least one image")
    if c not in (1, 3):
        raise ValueError(f"make_grid supports 1 or 3 channels, got {c}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    nrow = min(nrow, n)  # a wider grid would only add empty columns
    rows = math.ceil(n / nrow)

    # Convert once on the whole batch; float64 avoids any rounding surprise
    # at the end points (-1 -> 0, 1 -> 255 exactly).
    x = images.detach().to("cpu", torch.float64).clamp(-1.0, 1.0)
    x = ((x + 1.0) * 127.5).round().to(torch.uint8).numpy()  # (N, C, H, W)
    x = x.transpose(0, 2, 3, 1)  # (N, H, W, C)

    pad = int(round((min(max(pad_value, -1.0), 1.0) + 1.0) * 127.5))
    grid = np.full(
        (rows * (h + padding) + padding, nrow * (w + padding) + padding, c),
        pad,
        dtype=np.uint8,
    )
    for i in range(n):
        r, col = divmod(i, nrow)
        top = padding + r * (h + padding)
        left = padding + col * (w + padding)
        grid[top : top + h, left : left + w] = x[i]
    return grid[:, :, 0] if c == 1 else grid


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: (H, W[, C]) -> (H*factor, W*factor[, C]).

    Used so that 28x28 tiles stay crisp (no interpolation blur) when viewed.
    """
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"upscale factor must be a positive integer, got {factor}")
    factor = int(factor)
    if factor == 1:
        return img.copy()
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def to_pil(array: np.ndarray) -> Image.Image:
    """uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) -> PIL image (L/RGB/RGBA)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(a))  # mode L
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(a))  # RGB / RGBA
    raise ValueError(f"expected (H, W) or (H, W, 1|3|4), got shape {a.shape}")


def png_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as PNG bytes.

    Pillow writes no tIME/tEXt chunks unless asked (we pass no pnginfo) and
    zlib is deterministic at a fixed level, so equal arrays give equal bytes.
    """
    buf = io.BytesIO()
    to_pil(array).save(buf, format="PNG", compress_level=6, optimize=False)
    return buf.getvalue()


def save_png(array: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Save uint8 (H, W) / (H, W, 3) to `path` as PNG, atomically. Returns the path."""
    return atomic_write(path, png_bytes(array))
