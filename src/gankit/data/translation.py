"""Image-to-image translation data: the field layout every translation dataset follows, the label-map
palette and the edge detector.

pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks")
learns from aligned pairs (a_i, b_i); CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation
using Cycle-Consistent Adversarial Networks") from two collections with no pairs, X (our A) and Y (our B).
One registered dataset serves both, chosen by data.paired:

    data.paired=true  (pix2pix): main fields, row i of x pairs with row i of x_b
        x    uint8 (N, C_in, H, W)   "image"         the input side
        x_b  uint8 (N, C_out, H, W)  "paired_image"  its target
    data.paired=false (CycleGAN): two collections of disjoint scenes, each with its own length
        x    uint8 (N_a, C_in, H, W)  "image"        main fields: domain A (X)
        domains["b"].x_b  uint8 (N_b, C_out, H, W)  "image"   domain B (Y)
A built-in set with pairs gives the first half of its scenes to A and the second half to B, so no
pair is ever seen in unpaired training. data.direction=BtoA swaps the sides, and what belongs to each,
before anything else: x is always the input, x_b the target. data.limit keeps the first rows of each
collection.

The test split is paired whenever ground truth exists, whatever data.paired says, so a translation is
scored pixel by pixel against its target; it also carries the target's ground truth:
    label_map  uint8 (N, H, W) "label_map" (classes, names)   the target scene's label map
    shape, colour, size, position, background  int64 (N,) "label"  (shapes sets; shape2 ... for a second object)
Labels of a collection (Fashion-MNIST's class y) come with their side in every split: y beside x,
and y_b beside x_b in the unpaired form.

A side that is a label map is stored as an RGB image in PALETTE (like the Cityscapes labels of both
papers) and its FieldSpec says so with classes=K and names=the class names; a photo side has classes=0.
Edges are 1 channel, black edges (0) on white (255), like pix2pix's edges2shoes and edges2handbags.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import FieldSpec, TensorData
from gankit.errors import UserError

# PALETTE[k] is the colour of class k of a `shapes` label map (0 background, 1 + shape index: circle,
# square, triangle, star, diamond, cross): corners of the RGB cube, at least 255 apart.
PALETTE = np.array([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255),
                    (255, 255, 0), (255, 0, 255), (0, 255, 255)], dtype=np.uint8)
EDGE, NO_EDGE = 0, 255  # edge images: black edges on white
_CHUNK = 2048  # images per step of the label decoding and edge detection: bounds their temporaries

Extra = dict[str, tuple[Tensor, FieldSpec]]  # field name -> (values, spec), rows like the side's images


def label_image(label_map: np.ndarray | Tensor, palette: np.ndarray = PALETTE) -> Tensor:
    """Class ids (N, H, W) -> the label map drawn in `palette`: uint8 (N, 3, H, W)."""
    maps = torch.as_tensor(np.asarray(label_map) if not isinstance(label_map, Tensor) else label_map).long()
    if maps.ndim != 3:
        raise ValueError(f"label maps must be (N, H, W), got shape {tuple(maps.shape)}")
    if maps.numel() and (int(maps.min()) < 0 or int(maps.max()) >= len(palette)):
        raise ValueError(f"label map has classes {int(maps.min())}..{int(maps.max())}; the palette has {len(palette)}")
    colours = torch.from_numpy(np.ascontiguousarray(palette)).to(maps.device)
    return colours[maps].permute(0, 3, 1, 2).contiguous()


def labels_from_image(x: Tensor, palette: np.ndarray = PALETTE) -> Tensor:
    """Images in [-1, 1] (N, 3, H, W) -> the class of the nearest palette colour per pixel: int64 (N, H, W).

    The inverse of `label_image` (exact on its output), and how a generated label map is read."""
    colours = torch.from_numpy(palette.astype(np.float32) / 127.5 - 1.0).to(x.device)  # (K, 3), x's scale
    out = torch.empty((len(x), *x.shape[2:]), dtype=torch.int64, device=x.device)
    for i in range(0, len(x), _CHUNK):
        part = x[i : i + _CHUNK].float()
        dist = (part[:, None] - colours[None, :, :, None, None]).square().sum(2)  # (n, K, H, W)
        out[i : i + _CHUNK] = dist.argmin(1)
    return out


# ---------------------------------------------------------------- edges

def _smooth(f: np.ndarray) -> np.ndarray:
    """3x3 binomial blur ([1 2 1] / 4 both ways) of (..., H, W), borders replicated."""
    p = np.pad(f, [(0, 0)] * (f.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    f = (p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]) / 4
    return (f[..., :-2] + 2 * f[..., 1:-1] + f[..., 2:]) / 4


def _canny(images: np.ndarray, low: float, high: float, blur: bool) -> np.ndarray:
    """uint8 (n, C, H, W) -> bool (n, H, W) edge pixels: a small Canny (1986) detector.

    Sobel on every colour channel, keeping per pixel the channel with the strongest gradient (two
    colours of equal brightness still have an edge between them); magnitudes are in grey levels (a
    sharp step of height h gives h). Non-maximum suppression along the gradient leaves 1 px lines (a
    tie between two pixels keeps the second), then hysteresis: pixels >= high, and pixels >= low
    connected to them."""
    f = images.astype(np.float32)
    if blur:
        f = _smooth(f)
    p = np.pad(f, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")  # replicated: no edge at the border
    cols = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]
    rows = p[..., :-2] + 2 * p[..., 1:-1] + p[..., 2:]
    gx = (cols[..., 2:] - cols[..., :-2]) / 4  # a step of h between two pixels: h on both of them
    gy = (rows[..., 2:, :] - rows[..., :-2, :]) / 4
    mag = np.hypot(gx, gy)
    best = mag.argmax(1)[:, None]
    mag, gx, gy = (np.take_along_axis(a, best, 1)[:, 0] for a in (mag, gx, gy))
    m = np.pad(mag, ((0, 0), (1, 1), (1, 1)))
    h, w = mag.shape[1:]

    def at(dy: int, dx: int) -> np.ndarray:
        return m[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    ax, ay, tan = np.abs(gx), np.abs(gy), np.tan(np.radians(22.5))
    across = ay <= tan * ax  # gradient along x: compare left and right
    along = ax <= tan * ay  # gradient along y: above and below
    falling = gx * gy > 0  # gradient towards down-right (y grows downwards)
    before = np.where(across, at(0, -1), np.where(along, at(-1, 0), np.where(falling, at(-1, -1), at(-1, 1))))
    after = np.where(across, at(0, 1), np.where(along, at(1, 0), np.where(falling, at(1, 1), at(1, -1))))
    thin = (mag >= before) & (mag > after) & (mag > 0)
    strong, weak = thin & (mag >= high), thin & (mag >= low)
    active = np.arange(len(mag)) if low < high else np.arange(0)
    while len(active):  # grow the strong edges along the weak ones, 8-connected, until nothing changes
        s = np.pad(strong[active], ((0, 0), (1, 1), (1, 1)))
        s = s[:, :-2] | s[:, 1:-1] | s[:, 2:]  # dilate by 3x3, separably: rows ...
        grown = weak[active] & (s[..., :-2] | s[..., 1:-1] | s[..., 2:])  # ... then columns
        changed = (grown != strong[active]).any((1, 2))
        strong[active] = grown
        active = active[changed]  # most images settle in a few steps: only the others go on
    return strong


def edges(images: np.ndarray, low: float, high: float, blur: bool = False) -> np.ndarray:
    """Edge map of uint8 images (N, C, H, W): uint8 (N, 1, H, W), black edges (0) on white (255).

    `low` and `high` are hysteresis thresholds in grey levels (a step between two flat regions of
    intensities u and v has strength |u - v|); low = high is a single threshold. `blur` smooths first
    (textured images). Deterministic: plain NumPy, no randomness."""
    out = np.empty((len(images), 1, *images.shape[2:]), np.uint8)
    for i in range(0, len(images), _CHUNK):
        out[i : i + _CHUNK, 0] = np.where(_canny(images[i : i + _CHUNK], low, high, blur), EDGE, NO_EDGE)
    return out


# ---------------------------------------------------------------- assembling a dataset

@dataclass
class Side:
    """One side of a translation: images uint8 (N, C, H, W) and what belongs to this side alone.

    classes and names mark a label-map side (PALETTE colours); labels (e.g. y) come with the side in
    every split; truth is its ground truth as a target (test split only), e.g. its colour or label map."""

    x: Tensor
    classes: int = 0
    names: tuple[str, ...] = ()
    labels: Extra = field(default_factory=dict)
    truth: Extra = field(default_factory=dict)

    def spec(self, kind: str) -> FieldSpec:
        return FieldSpec(kind, tuple(self.x.shape[1:]), self.classes, self.names)  # type: ignore[arg-type]

    def rows(self, part: slice) -> Side:
        cut = lambda extra: {k: (v[part], s) for k, (v, s) in extra.items()}  # noqa: E731
        return Side(self.x[part], self.classes, self.names, cut(self.labels), cut(self.truth))


def no_pairs(name: str) -> UserError:
    return UserError(f"dataset {name!r} has no (A, B) pairs, only two collections: set data.paired=false "
                     "(CycleGAN-style unpaired training)")


def assemble(cfg: DataConfig, name: str, a: Side, b: Side, *, pairs: bool, truth: Extra | None = None,
             source: str = "") -> TensorData:
    """The TensorData of a translation set, in the form the config asks for (module docstring).

    pairs: row i of a and row i of b show the same scene (else they are two unrelated collections).
    truth: ground truth of each pair's scene (the test split's label map, attributes), None when the
    set has none. The paired form is used when data.paired, or on the test split of a set with truth."""
    if cfg.direction == "BtoA":
        a, b = b, a
    source = source or f"{name}:{cfg.split}:{cfg.direction}"
    keep = slice(0, cfg.limit or None)
    if pairs and (cfg.paired or (cfg.split == "test" and truth is not None)):
        if len(a.x) != len(b.x):
            raise ValueError(f"{name}: {len(a.x)} inputs for {len(b.x)} targets")
        fields, specs = {"x": a.x[keep], "x_b": b.x[keep]}, {"x": a.spec("image"), "x_b": b.spec("paired_image")}
        extra = {**a.labels, **b.labels}  # the same rows: the target's labels win a shared name
        if cfg.split == "test":
            extra.update({**(truth or {}), **b.truth})
        for k, (v, s) in extra.items():
            fields[k], specs[k] = v[keep], s
        return TensorData(fields, specs, source=f"{source}:paired")
    if not pairs and cfg.paired:
        raise no_pairs(name)
    if pairs:  # one set of scenes: disjoint halves, so that no pair is ever seen
        half = len(a.x) // 2
        a, b = a.rows(slice(0, half)), b.rows(slice(half, 2 * half))
    fields, specs = {"x": a.x[keep]}, {"x": a.spec("image")}
    for k, (v, s) in a.labels.items():
        fields[k], specs[k] = v[keep], s
    b_fields, b_specs = {"x_b": b.x[keep]}, {"x_b": b.spec("image")}
    for k, (v, s) in b.labels.items():
        b_fields[f"{k}_b"], b_specs[f"{k}_b"] = v[keep], s
    domain = TensorData(b_fields, b_specs, source=f"{source}:B")
    return TensorData(fields, specs, source=f"{source}:unpaired", domains={"b": domain})


__all__ = ["EDGE", "NO_EDGE", "PALETTE", "Side", "assemble", "edges", "label_image", "labels_from_image", "no_pairs"]
