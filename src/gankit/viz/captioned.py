"""A grid with one row per prompt and the prompt printed under its row.

    captioned_grid(images, per_row=8, labels=["a small red circle ...", "un grand carré bleu en bas"])

Text is drawn in DejaVu Sans (Debian's fonts-dejavu-core, which `make setup` installs: it covers
French accents). Without it, Pillow's built-in font is used and accents are dropped ("carré" ->
"carre"), since that font has no glyphs for them. A label too wide for its row is cut with an
ellipsis; the whole prompt is in the .prompts.txt beside the picture anyway.
"""
from __future__ import annotations

import unicodedata

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gankit.viz.grids import make_grid, upscale

FONT_SIZE = 12
LINE = 16  # pixels of the strip under each row


def _font() -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """(font, whether it has accented letters)."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", FONT_SIZE), True  # Pillow searches the system's font folders
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=FONT_SIZE), False
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default(), False


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def captioned_grid(images: torch.Tensor, per_row: int, labels: list[str], scale: int = 2,
                   padding: int = 2) -> np.ndarray:
    """uint8 (H', W', 3): rows of `per_row` images (N = len(labels) * per_row, in [-1, 1]), each
    followed by a white strip holding its label."""
    if len(images) != len(labels) * per_row:
        raise ValueError(f"{len(images)} images for {len(labels)} labels of {per_row}")
    font, accents = _font()
    strips = []
    for i, label in enumerate(labels):
        row = make_grid(images[i * per_row : (i + 1) * per_row], nrow=per_row, padding=padding)
        row = upscale(row if row.ndim == 3 else np.repeat(row[:, :, None], 3, axis=2), scale)
        canvas = Image.new("RGB", (row.shape[1], row.shape[0] + LINE), (255, 255, 255))
        canvas.paste(Image.fromarray(row), (0, 0))
        pen = ImageDraw.Draw(canvas)
        text = label if accents else _ascii(label)
        pen.text((4, row.shape[0] + 1), _fit(pen, text, font, row.shape[1] - 8), fill=(0, 0, 0), font=font)
        strips.append(np.asarray(canvas))
    return np.concatenate(strips, axis=0)
