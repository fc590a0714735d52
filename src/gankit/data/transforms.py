"""Small Pillow + NumPy + torch image utilities used by the dataset loaders.

Everything here runs once, at load time: the training loop only indexes a tensor.

    pil = to_channels(Image.open(p), 3)         # any mode -> 'L' (1) or 'RGB' (3)
    pil = resize_square(pil, 64)                # centre-crop to a square, then resize
    x = to_tensor(np.stack([np.asarray(pil)]))  # uint8 (N,H,W[,C]) -> float32 (N,C,H,W) in [-1, 1]
    x = resize_batch(x, 32)                     # (N,C,H,W) -> (N,C,32,32), stays in [-1, 1]
    x = convert_channels(x, 1)                  # (N,3,H,W) -> (N,1,H,W) by ITU-R 601 luma
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from gankit.errors import UserError

# ITU-R BT.601 luma, the weights Pillow's RGB -> 'L' conversion uses too.
LUMA = (0.299, 0.587, 0.114)
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_CHUNK = 4096  # images per interpolate call: bounds the temporary memory of a batch resize


def _high_bit_depth_to_l(img: Image.Image) -> Image.Image:
    """A 16-bit / 32-bit integer or float grayscale image -> 8-bit 'L'.

    Pillow's own convert('L') clips 'I' values at 255 instead of scaling, which would
    turn a 16-bit PNG white; scale by the range the values can take instead.
    """
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        scaled = arr.astype(np.float32) / 257.0  # 65535 -> 255
    elif img.mode == "F" and arr.size and float(np.nanmax(arr)) <= 1.0:
        scaled = arr.astype(np.float32) * 255.0  # float images in [0, 1]
    else:
        top = float(arr.max()) if arr.size else 0.0
        # 'I' is how Pillow opens some 16-bit files: scale by the smallest range that holds them.
        scale = 1.0 if top <= 255 else (257.0 if top <= 65535 else top / 255.0)
        scaled = arr.astype(np.float32) / scale
    return Image.fromarray(np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8), "L")


def to_channels(img: Image.Image, channels: int) -> Image.Image:
    """Any Pillow image -> mode 'L' (channels=1) or 'RGB' (channels=3).

    channels=0 keeps the image's nature: 'L' for grayscale modes, 'RGB' otherwise.
    Transparency (RGBA, LA, PA, P with a transparent index) is flattened onto black,
    the value -1 after normalisation, like the background of MNIST-style data.
    Palette, CMYK, YCbCr, LAB, HSV, 1-bit and 16-bit modes are all converted.
    """
    if channels not in (0, 1, 3):
        raise UserError(f"image channels must be 0 (native), 1 or 3, got {channels}")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")  # also resolves a palette's transparency
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _high_bit_depth_to_l(img)
    if img.mode in ("RGBA", "RGBa", "LA", "La"):
        alpha = img.getchannel("A")
        base = Image.new("RGB" if img.mode.startswith("RGB") else "L", img.size, 0)
        base.paste(img.convert(base.mode), mask=alpha)
        img = base
    if channels == 0:
        channels = 1 if img.mode in _GRAY_MODES else 3
    want = "L" if channels == 1 else "RGB"
    if img.mode != want:
        img = img.convert(want)  # RGB -> L uses ITU-R 601 luma; L -> RGB repeats
    return img


def resize_square(img: Image.Image, side: int) -> Image.Image:
    """Centre-crop to a square of the shorter side, then resize to side x side.

    Lanczos when shrinking (anti-aliased), bicubic when enlarging. side <= 0 only crops.
    """
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    box = (left, top, left + s, top + s)
    if side <= 0 or side == s:
        return img.crop(box) if (w, h) != (s, s) else img
    resample = Image.Resampling.LANCZOS if side < s else Image.Resampling.BICUBIC
    # reducing_gap first shrinks by an integer factor with a box filter: much faster
    # for big photos and visually the same as a pure Lanczos.
    return img.resize((side, side), resample, box=box, reducing_gap=3.0 if side < s else None)


def to_uint8_tensor(arr: np.ndarray) -> Tensor:
    """uint8 (N,H,W) or (N,H,W,C) -> uint8 (N,C,H,W), contiguous: how datasets store images
    (decoded per batch by `gankit.data.base.decode`, to exactly the values `to_tensor` gives)."""
    if arr.dtype != np.uint8:
        raise TypeError(f"images must be uint8 pixels, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(f"images must be (N,H,W) or (N,H,W,C), got shape {arr.shape}")
    with warnings.catch_warnings():
        # Read-only arrays (np.frombuffer of a file) are fine: datasets never write to their fields.
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


def to_tensor(arr: np.ndarray) -> Tensor:
    """uint8 (N,H,W) or (N,H,W,C) -> float32 (N,C,H,W) in [-1, 1] as x/127.5 - 1 (contiguous).

    A single image (H,W) or (H,W,C) goes through `image_to_tensor`.
    """
    return to_uint8_tensor(arr).float().div_(127.5).sub_(1.0)


def image_to_tensor(arr: np.ndarray) -> Tensor:
    """One uint8 image (H,W) or (H,W,C) -> float32 (1,C,H,W) in [-1, 1]."""
    if arr.ndim not in (2, 3):
        raise ValueError(f"image_to_tensor expects (H,W) or (H,W,C), got shape {arr.shape}")
    return to_tensor(arr[None])


def convert_channels(x: Tensor, channels: int) -> Tensor:
    """(N,C,H,W) -> (N,channels,H,W): 1 -> 3 repeats gray, 3 -> 1 takes ITU-R 601 luma.

    channels=0 or equal to C returns x. Luma is linear with weights summing to 1, so
    it can be taken on values already in [-1, 1].
    """
    c = x.shape[1]
    if channels in (0, c):
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor(LUMA, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * w).sum(dim=1, keepdim=True)
    raise UserError(f"cannot convert {c}-channel images to {channels} channels (1 or 3)")


def resize_batch(x: Tensor, side: int) -> Tensor:
    """(N,C,H,W) in [-1, 1] -> (N,C,side,side), centre-cropping non-square images first.

    Shrinking uses anti-aliased bicubic (close to Pillow's filters), enlarging plain
    bicubic; the result is clamped to [-1, 1] since bicubic overshoots at edges.
    Works in chunks so the temporaries of a 60,000-image resize stay small.
    """
    n, c, h, w = x.shape
    s = min(h, w)
    if (h, w) != (s, s):
        top, left = (h - s) // 2, (w - s) // 2
        x = x[:, :, top : top + s, left : left + s]
    if side <= 0 or side == s:
        return x.contiguous()
    out = torch.empty((n, c, side, side), dtype=x.dtype)
    for i in range(0, n, _CHUNK):
        part = x[i : i + _CHUNK].float()
        out[i : i + _CHUNK] = F.interpolate(
            part, size=(side, side), mode="bicubic", align_corners=False, antialias=side < s
        ).clamp_(-1.0, 1.0)
    return out
