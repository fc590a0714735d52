"""Drawing one `shapes` image: coloured objects on a plain background, with a pixel-exact label map.

Each object is drawn at 4x the output side with Pillow, then box-averaged down, so edges are
anti-aliased the same way at 32 and 64 px. The label map comes from the same supersampled masks:
a pixel belongs to the object that covers at least half of it (the last drawn wins on overlap), so
the map agrees with the picture pixel for pixel.

What an attribute fixes and what it leaves free (the within-prompt diversity a generator must keep):
    shape     the outline (6 kinds)                       free: rotation within +-12 degrees
    colour    one of 8 named colours                      free: +-12 per channel
    size      radius 0.11 / 0.15 / 0.20 of the side       free: +-6%
    position  one of 3x3 cells (centres at 0.2/0.5/0.8)   free: +-0.035 of the side
    background one of 3 colours (never named in captions) free: +-8 per channel
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 4
COLOUR_RGB = ((215, 35, 35), (35, 175, 50), (45, 85, 235), (240, 215, 40),
              (145, 55, 205), (40, 210, 225), (250, 140, 20), (245, 245, 245))
BACKGROUNDS = ("black", "grey", "navy")
BACKGROUND_RGB = ((10, 10, 10), (105, 105, 105), (22, 28, 75))
RADIUS = (0.11, 0.15, 0.20)  # of the image side, per size
CELL_CENTRES = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class Thing:
    """One object: its named attributes (indices into shapes_text's tuples) and its free variation."""

    shape: int
    colour: int
    size: int
    position: int
    rotation: float = 0.0  # degrees
    scale: float = 1.0
    dx: float = 0.0  # offset from the cell centre, fraction of the side
    dy: float = 0.0
    tint: tuple[int, int, int] = (0, 0, 0)


def jittered(rng: random.Random, shape: int, colour: int, size: int, position: int) -> Thing:
    """A Thing with its free variation drawn from `rng`."""
    return Thing(shape, colour, size, position, rotation=rng.uniform(-12, 12), scale=rng.uniform(0.94, 1.06),
                 dx=rng.uniform(-0.035, 0.035), dy=rng.uniform(-0.035, 0.035),
                 tint=(rng.randint(-12, 12), rng.randint(-12, 12), rng.randint(-12, 12)))


def _regular(cx: float, cy: float, r: float, n: int, start: float, rot: float, inner: float = 0.0) -> list:
    """Vertices of a regular n-gon (or an n-pointed star when inner > 0) around (cx, cy)."""
    points = []
    steps = 2 * n if inner else n
    for k in range(steps):
        radius = r if not inner or k % 2 == 0 else r * inner
        a = math.radians(start + rot + 360.0 * k / steps)
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def _rotate(points: list, cx: float, cy: float, rot: float) -> list:
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in points]


def outline(shape: int, cx: float, cy: float, r: float, rot: float) -> list | None:
    """The polygon of a shape of radius r (None: a circle, drawn as an ellipse). The areas are
    kept comparable so size is judged by extent, not by ink."""
    if shape == 1:  # square: half-side 0.85 r
        return _regular(cx, cy, 0.85 * math.sqrt(2) * r, 4, 45, rot)
    if shape == 2:  # triangle, pointing up
        return _regular(cx, cy + 0.15 * r, 1.2 * r, 3, -90, rot)
    if shape == 3:  # five-pointed star
        return _regular(cx, cy + 0.08 * r, 1.2 * r, 5, -90, rot, inner=0.45)
    if shape == 4:  # diamond: taller than wide
        return _rotate([(cx, cy - 1.15 * r), (cx + 0.8 * r, cy), (cx, cy + 1.15 * r), (cx - 0.8 * r, cy)], cx, cy, rot)
    if shape == 5:  # plus-shaped cross, arms 0.36 r thick
        t, a = 0.36 * r, 1.05 * r
        pts = [(-t, -a), (t, -a), (t, -t), (a, -t), (a, t), (t, t), (t, a), (-t, a), (-t, t), (-a, t), (-a, -t), (-t, -t)]
        return _rotate([(cx + x, cy + y) for x, y in pts], cx, cy, rot)
    return None


def draw(things: list[Thing], background: int, bg_tint: tuple[int, int, int], side: int) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 (3, side, side), label map uint8 (side, side): 0 background, 1 + shape index)."""
    big = side * SUPERSAMPLE
    bg = tuple(int(np.clip(c + t, 0, 255)) for c, t in zip(BACKGROUND_RGB[background], bg_tint))
    canvas = Image.new("RGB", (big, big), bg)
    pen = ImageDraw.Draw(canvas)
    labels = np.zeros((side, side), np.uint8)
    for thing in things:
        row, col = divmod(thing.position, 3)
        cx, cy = (CELL_CENTRES[col] + thing.dx) * big, (CELL_CENTRES[row] + thing.dy) * big
        r = RADIUS[thing.size] * thing.scale * big
        colour = tuple(int(np.clip(c + t, 0, 255)) for c, t in zip(COLOUR_RGB[thing.colour], thing.tint))
        mask = Image.new("L", (big, big), 0)
        mask_pen = ImageDraw.Draw(mask)
        poly = outline(thing.shape, cx, cy, r, thing.rotation)
        if poly is None:
            box = (cx - r, cy - r, cx + r, cy + r)
            pen.ellipse(box, fill=colour)
            mask_pen.ellipse(box, fill=255)
        else:
            pen.polygon(poly, fill=colour)
            mask_pen.polygon(poly, fill=255)
        coverage = np.asarray(mask.reduce(SUPERSAMPLE), dtype=np.uint8)
        labels[coverage >= 128] = thing.shape + 1
    image = np.asarray(canvas.reduce(SUPERSAMPLE), dtype=np.uint8).transpose(2, 0, 1)
    return image, labels
