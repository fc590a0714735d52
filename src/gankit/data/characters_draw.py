"""Drawing one `characters` image: an anime-style head and shoulders on a plain light background.

Like shapes_draw, every part is drawn with Pillow at SUPERSAMPLE x the output side and box-averaged
down, so edges are anti-aliased alike at 32 and 64 px. The portrait is laid out in *face units*
(fractions of the side, origin between the eyes, y down) and placed by one affine map, so a tag's
pixels are always where `regions` says (the tests flip one tag and diff the images).

Sizes are chosen for 32 px, where 0.031 face units are one pixel: anime proportions help. Each
iris is 0.11 x 0.13 (3.5 x 4 px; a small, light pupil leaves 6-10 px of nearly pure eye colour),
mouths are 0.04-0.14 wide, the bow 0.24 wide, and hat and hair styles differ in silhouette:
    long       a curtain behind the shoulders to the bottom edge, and locks in front of them
    short      a bob that ends above the chin (y 0.12; the chin is at 0.27)
    twin tails short hair and a bunch hanging out at each side of the head
    ponytail   short hair and one bunch rising from the crown and falling on the right

What the tags fix and what is left free (the variety within one tag set a generator must keep):
    hair colour   8 named colours          free: +-10 per channel
    eye colour    6 named colours          free: nothing
    hat, ribbon   present or not           free: the colour, among those far from the hair's
    background    4 light colours (never in captions, not a tag)
    face          free: position +-0.04 of the side, scale +-4%, skin tone (3)
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from gankit.data.characters_text import Tags

SUPERSAMPLE = 4
HAIR_RGB = ((250, 214, 92), (128, 78, 40), (38, 34, 44), (48, 104, 232),
            (252, 128, 190), (140, 68, 204), (48, 172, 84), (218, 36, 44))
EYE_RGB = ((36, 112, 245), (225, 28, 40), (30, 175, 70), (124, 72, 30), (160, 56, 220), (245, 205, 20))
SKIN_RGB = ((255, 232, 218), (252, 218, 196), (242, 201, 172))
BACKGROUNDS = ("white", "light blue", "light yellow", "light grey")
BACKGROUND_RGB = ((250, 250, 250), (204, 226, 248), (250, 244, 200), (216, 216, 218))
HAT_RGB = ((205, 40, 55), (45, 60, 150), (225, 180, 95), (40, 125, 75), (120, 50, 150), (60, 55, 60))
RIBBON_RGB = ((235, 30, 70), (255, 215, 30), (60, 165, 255), (255, 110, 180), (150, 50, 210))
_MIN_CONTRAST = 150  # sum of |channel| differences between a hat or ribbon and the hair under it
_SHIRT, _COLLAR, _LINE = (244, 244, 248), (44, 56, 112), (42, 30, 42)
FACE_X, FACE_Y = 0.5, 0.54  # where the face origin sits in the image, as a fraction of the side
EYES = ((-0.105, 0.03), (0.105, 0.03))
MOUTH_Y = 0.165
RIBBON_AT = (-0.27, -0.19)
# Boxes in face units (x0, y0, x1, y1) where each yes/no tag draws, line widths included.
_REGIONS = {"smile": (-0.075, 0.08, 0.075, 0.225), "open_mouth": (-0.075, 0.08, 0.075, 0.225),
            "blush": (-0.225, 0.085, 0.225, 0.155), "glasses": (-0.21, -0.06, 0.21, 0.13),
            "hat": (-0.43, -0.52, 0.43, -0.21),
            "ribbon": (RIBBON_AT[0] - 0.135, RIBBON_AT[1] - 0.09, RIBBON_AT[0] + 0.135, RIBBON_AT[1] + 0.09)}


@dataclass(frozen=True)
class Character:
    """One portrait: its tags and background, and its free variation."""

    tags: Tags
    background: int = 0
    skin: int = 0
    dx: float = 0.0  # face offset, fraction of the side
    dy: float = 0.0
    scale: float = 1.0
    hair_tint: tuple[int, int, int] = (0, 0, 0)
    hat_colour: int = 0  # index into HAT_RGB
    ribbon_colour: int = 0  # index into RIBBON_RGB


def _far(palette: tuple[tuple[int, int, int], ...], rgb: tuple[int, int, int]) -> list[int]:
    return [i for i, c in enumerate(palette) if sum(abs(a - b) for a, b in zip(c, rgb)) >= _MIN_CONTRAST]


def jittered(rng: random.Random, tags: Tags, background: int) -> Character:
    """A Character with its free variation drawn from `rng` (the same number of draws whatever the
    tags, so one row's tags never shift the next row's variation)."""
    hair = HAIR_RGB[tags.hair_colour]
    return Character(tags, background, skin=rng.randrange(len(SKIN_RGB)),
                     dx=rng.uniform(-0.04, 0.04), dy=rng.uniform(-0.04, 0.04), scale=rng.uniform(0.96, 1.04),
                     hair_tint=(rng.randint(-10, 10), rng.randint(-10, 10), rng.randint(-10, 10)),
                     hat_colour=rng.choice(_far(HAT_RGB, hair)), ribbon_colour=rng.choice(_far(RIBBON_RGB, hair)))


def _shade(rgb: tuple[int, ...], f: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * f))) for c in rgb)  # type: ignore[return-value]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> list[tuple[float, float]]:
    """Points of an ellipse arc from angle a0 to a1 (degrees, clockwise on screen from +x)."""
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


def _mirror(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(-x, y) for x, y in points]


# --- Hair outlines in face units, built once. The skull's top arc is shared by every style.
_SKULL = _arc(0.0, -0.07, 0.315, 0.315, 180, 360)
_BANGS = [(0.2, -0.02), (0.15, -0.1), (0.1, -0.035), (0.05, -0.12), (0.0, -0.045), (-0.05, -0.12),
          (-0.1, -0.035), (-0.15, -0.1), (-0.2, -0.02)]
_BACK = {"long": _SKULL + [(0.34, 0.1), (0.38, 0.7), (-0.38, 0.7), (-0.34, 0.1)],
         "bob": _SKULL + [(0.32, 0.06), (0.27, 0.13), (-0.27, 0.13), (-0.32, 0.06)]}


def _lock(end: float) -> list[tuple[float, float]]:
    """The right side lock framing the face, from the temple down to y = end (left: mirrored)."""
    if end > 0.3:  # long: falls in front of the shoulder
        return [(0.315, -0.07), (0.335, 0.1), (0.355, 0.3), (0.37, 0.5), (0.31, 0.58), (0.26, 0.42),
                (0.225, 0.22), (0.205, 0.05), (0.2, -0.02)]
    return [(0.315, -0.07), (0.325, 0.0), (0.3, end), (0.25, end - 0.05), (0.215, end - 0.12), (0.2, -0.02)]


_FRONT = {style: _lock(end) + _BANGS + _mirror(_lock(end))[::-1] + _SKULL
          for style, end in (("long", 0.5), ("short", 0.12), ("tied", 0.08))}
_TAIL = [(0.25, -0.25), (0.3, -0.31), (0.42, -0.24), (0.5, -0.02), (0.49, 0.22), (0.42, 0.44),
         (0.37, 0.22), (0.33, -0.02), (0.27, -0.17)]
_PONYTAIL = [(0.05, -0.36), (0.18, -0.47), (0.34, -0.46), (0.46, -0.32), (0.5, -0.06), (0.48, 0.2),
             (0.42, 0.38), (0.38, 0.16), (0.35, -0.1), (0.28, -0.27), (0.15, -0.33)]
_FACE = _arc(0.0, -0.03, 0.245, 0.25, 180, 360) + [(0.237, 0.06), (0.2, 0.15), (0.12, 0.23), (0.0, 0.272),
                                                   (-0.12, 0.23), (-0.2, 0.15), (-0.237, 0.06)]
_LASH = [(-0.065, -0.042), (-0.05, -0.064), (0.0, -0.074), (0.05, -0.068), (0.082, -0.046), (0.076, -0.032),
         (0.045, -0.052), (0.0, -0.057), (-0.045, -0.05)]  # the right eye's upper lash line, about its centre


def regions(ch: Character, side: int) -> dict[str, tuple[int, int, int, int]]:
    """Pixel boxes (x0, y0, x1, y1), end-exclusive and one pixel wider for anti-aliasing, inside
    which each yes/no tag draws: flipping that tag alone changes no pixel outside its box."""
    k, ox, oy = ch.scale * side, (FACE_X + ch.dx) * side, (FACE_Y + ch.dy) * side
    out = {}
    for name, (x0, y0, x1, y1) in _REGIONS.items():
        out[name] = (max(0, math.floor(ox + x0 * k) - 1), max(0, math.floor(oy + y0 * k) - 1),
                     min(side, math.ceil(ox + x1 * k) + 1), min(side, math.ceil(oy + y1 * k) + 1))
    return out


def draw(ch: Character, side: int) -> np.ndarray:
    """The portrait as uint8 (3, side, side)."""
    big = side * SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), BACKGROUND_RGB[ch.background])
    pen = ImageDraw.Draw(canvas)
    k, ox, oy = ch.scale * big, (FACE_X + ch.dx) * big, (FACE_Y + ch.dy) * big

    def at(points: list[tuple[float, float]], dx: float = 0.0, dy: float = 0.0) -> list[tuple[float, float]]:
        return [(ox + (x + dx) * k, oy + (y + dy) * k) for x, y in points]

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (ox + x0 * k, oy + y0 * k, ox + x1 * k, oy + y1 * k)

    def w(units: float) -> int:
        return max(1, round(units * k))

    t = ch.tags
    hair = tuple(int(np.clip(c + d, 0, 255)) for c, d in zip(HAIR_RGB[t.hair_colour], ch.hair_tint))
    hair_line, hair_back = _shade(hair, 0.55), _shade(hair, 0.78)
    skin = SKIN_RGB[ch.skin]
    skin_line = _shade(skin, 0.7)
    style = ("long", "short", "twin tails", "ponytail")[t.hair_style]

    # Behind the head: tails, then the back of the hair (long: a curtain behind the shoulders).
    if style == "twin tails":
        for tail in (_TAIL, _mirror(_TAIL)):
            pen.polygon(at(tail), fill=hair, outline=hair_line, width=w(0.012))
    if style == "ponytail":
        pen.polygon(at(_PONYTAIL), fill=hair, outline=hair_line, width=w(0.012))
    pen.polygon(at(_BACK["long" if style == "long" else "bob"]), fill=hair_back, outline=hair_line, width=w(0.012))
    # Neck and shoulders in a sailor-collar shirt.
    pen.rectangle(box(-0.065, 0.15, 0.065, 0.38), fill=_shade(skin, 0.9))
    pen.ellipse(box(-0.42, 0.36, 0.42, 1.0), fill=_SHIRT, outline=_shade(_SHIRT, 0.7), width=w(0.01))
    pen.polygon(at([(-0.3, 0.41), (-0.07, 0.36), (0.0, 0.5), (0.07, 0.36), (0.3, 0.41), (0.0, 0.62)]), fill=_COLLAR)
    # Face, eyes, nose.
    pen.polygon(at(_FACE), fill=skin, outline=skin_line, width=w(0.01))
    iris = EYE_RGB[t.eye_colour]
    for sign, (ex, ey) in zip((-1, 1), EYES):
        pen.ellipse(box(ex - 0.064, ey - 0.06, ex + 0.064, ey + 0.066), fill=(255, 255, 255))
        pen.ellipse(box(ex - 0.056, ey - 0.058, ex + 0.056, ey + 0.07), fill=iris)
        # A small, not too dark pupil and highlight: at 32 px they must leave ~3 x 3 px of iris colour.
        pen.ellipse(box(ex - 0.016, ey - 0.005, ex + 0.016, ey + 0.035), fill=_shade(iris, 0.55))
        pen.ellipse(box(ex - 0.04, ey - 0.044, ex - 0.016, ey - 0.02), fill=(255, 255, 255))
        lash = _LASH if sign > 0 else _mirror(_LASH)
        pen.polygon(at(lash, ex, ey), fill=_LINE)
    pen.ellipse(box(-0.009, 0.1, 0.009, 0.112), fill=skin_line)
    # Blush, mouth.
    if t.blush:
        for cx in (-0.165, 0.165):
            pen.ellipse(box(cx - 0.055, 0.092, cx + 0.055, 0.148), fill=(248, 138, 158))
    mouth_dark, tongue = (130, 28, 44), (236, 112, 124)
    if t.open_mouth and t.smile:  # a wide "D": flat top, round bottom
        pen.chord(box(-0.066, 0.09, 0.066, 0.214), 0, 180, fill=mouth_dark)
        pen.ellipse(box(-0.032, 0.178, 0.032, 0.208), fill=tongue)
    elif t.open_mouth:  # a small round "o"
        pen.ellipse(box(-0.032, 0.125, 0.032, 0.21), fill=mouth_dark)
        pen.ellipse(box(-0.02, 0.175, 0.02, 0.205), fill=tongue)
    elif t.smile:  # an upturned curve
        pen.arc(box(-0.07, 0.085, 0.07, 0.19), 15, 165, fill=(140, 38, 54), width=w(0.03))
    else:  # a short flat line
        pen.rectangle(box(-0.022, MOUTH_Y - 0.006, 0.022, MOUTH_Y + 0.006), fill=(190, 110, 110))
    # Front hair: bangs and side locks over the face.
    lock = "long" if style == "long" else ("short" if style == "short" else "tied")
    pen.polygon(at(_FRONT[lock]), fill=hair, outline=hair_line, width=w(0.012))
    if style in ("twin tails", "ponytail"):  # hair ties where the bunches start
        for cx, cy in ([(0.29, -0.25), (-0.29, -0.25)] if style == "twin tails" else [(0.16, -0.39)]):
            pen.ellipse(box(cx - 0.035, cy - 0.035, cx + 0.035, cy + 0.035), fill=hair_line)
    # Accessories, each inside its region.
    if t.glasses:
        for ex, ey in EYES:
            pen.rounded_rectangle(box(ex - 0.085, ey - 0.07, ex + 0.085, ey + 0.08), radius=w(0.03),
                                  outline=(36, 32, 48), width=w(0.028))
        pen.line(box(-0.03, 0.02, 0.03, 0.02), fill=(36, 32, 48), width=w(0.022))
    if t.hat:
        colour = HAT_RGB[ch.hat_colour]
        line = _shade(colour, 0.55)
        pen.ellipse(box(-0.42, -0.32, 0.42, -0.22), fill=colour, outline=line, width=w(0.012))
        pen.rounded_rectangle(box(-0.23, -0.51, 0.23, -0.265), radius=w(0.08), fill=colour, outline=line,
                              width=w(0.012))
        band = (250, 250, 250) if sum(colour) < 450 else (60, 40, 50)
        pen.rectangle(box(-0.225, -0.335, 0.225, -0.29), fill=band)
    if t.ribbon:
        colour = RIBBON_RGB[ch.ribbon_colour]
        line = _shade(colour, 0.5)
        rx, ry = RIBBON_AT
        for sx in (-1, 1):
            wing = [(0, 0), (sx * 0.12, -0.075), (sx * 0.12, 0.075)]
            pen.polygon(at(wing, rx, ry), fill=colour, outline=line, width=w(0.012))
        pen.ellipse(box(rx - 0.035, ry - 0.035, rx + 0.035, ry + 0.035), fill=colour, outline=line, width=w(0.01))
    return np.asarray(canvas.reduce(SUPERSAMPLE), dtype=np.uint8).transpose(2, 0, 1)
