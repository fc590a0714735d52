"""Translation sets drawn from `shapes` scenes, with exact ground truth (layout: translation.py).

    shapes-labels   A: the label map drawn in PALETTE, RGB, classes 7   B: the photo (pix2pix's labels -> photo)
    shapes-edges    A: edges of the photo, 1 channel, black on white    B: the photo (edges -> photo)
    shapes-recolor  A: the object(s) red                                B: the same scene with the object(s) blue
    shapes-reshape  A: the object(s) circles                            B: squares of the same colour, size, place

S = data.resolution (0 = 32, or 64), data.objects 1 or 2, data.n_samples scenes in the train split and
min(10000, n) in the test split. shapes-labels and shapes-edges are the `shapes` dataset's own scenes
and cache (its train split never shows the held-out attribute combinations; its test split does).
recolor and reshape draw their own scenes from fixed seeds, each scene twice with shapes_draw.draw,
changing only the colour or the shape, so everything else (size, place, rotation, tints,
background) is the same on both sides. Recolour keeps the label map; reshape changes it.

Fields (after data.direction; x_b is the target):
    train, data.paired=true    x (N, C_in, S, S) image, x_b (N, 3, S, S) paired_image
    train, data.paired=false   x (N/2, ...) image [scenes 0 .. N/2); domains["b"]: x_b (N/2, ...) [N/2 .. N)
    test (always paired)       x, x_b, and the target's ground truth:
                               label_map (N, S, S) uint8, 7 classes (0 background, 1 + shape index)
                               shape colour size position background int64 (N,) (shape2 ... with two objects)
C_in is 3 (photo, label image) or 1 (edges). Recolour's colour field is the target colour, reshape's
shape field the target shape.
"""
from __future__ import annotations

import random
import sys
from dataclasses import replace

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data import shapes
from gankit.data.base import FieldSpec, TensorData
from gankit.data.drawn import cache_file, cached_arrays, drawn_side
from gankit.data.shapes_draw import BACKGROUNDS, draw, jittered
from gankit.data.shapes_text import COLOURS, POSITIONS, SHAPES, SIZES
from gankit.data.translation import PALETTE, Extra, Side, assemble, edges, label_image
from gankit.registry import DATASETS

VERSION = 1  # of recolour / reshape drawing and of the edge maps: part of the cache file names
CLASSES = ("background",) + SHAPES  # label map classes, coloured PALETTE[k]
EDGE_THRESHOLD = 24.0  # grey levels: flat shapes on flat backgrounds, so one threshold is enough
SIDES = (32, 64)  # U-Nets halve 32 five times
CHANGES = {"shapes-recolor": ("colour", COLOURS.index("red"), COLOURS.index("blue")),
           "shapes-reshape": ("shape", SHAPES.index("circle"), SHAPES.index("square"))}
_SEEDS = {"shapes-recolor": {"train": 4017, "test": 4018}, "shapes-reshape": {"train": 5017, "test": 5018}}
assert len(PALETTE) == len(CLASSES)


def _size(cfg: DataConfig, name: str) -> tuple[int, int]:
    """(side, n scenes) of the split asked for, after checking split, resolution and channels."""
    side = drawn_side(cfg, name, ("train", "test"), SIDES, 32)
    return side, cfg.n_samples if cfg.split == "train" else min(10_000, cfg.n_samples)


def _label(values: np.ndarray, names: tuple[str, ...]) -> tuple[torch.Tensor, FieldSpec]:
    return torch.from_numpy(np.ascontiguousarray(values, np.int64)), FieldSpec("label", (), len(names), names)


def scene_truth(maps: np.ndarray, attributes: np.ndarray, background: np.ndarray) -> Extra:
    """Ground-truth fields as in `shapes`, from label maps uint8 (N, S, S), attributes int64
    (N, objects, 4) [shape, colour, size, position] and background (N,): label_map, shape colour size
    position (shape2 ... for the second object) and background."""
    spec = FieldSpec("label_map", tuple(maps.shape[1:]), len(CLASSES), CLASSES)
    out: Extra = {"label_map": (torch.from_numpy(maps), spec)}
    for o in range(attributes.shape[1]):
        for a, (name, values) in enumerate(shapes.ATTRIBUTES.items()):
            out[name if o == 0 else f"{name}{o + 1}"] = _label(attributes[:, o, a], values)
    out["background"] = _label(background, BACKGROUNDS)
    return out


def _scenes(cfg: DataConfig, name: str) -> tuple[dict[str, np.ndarray], int, int]:
    side, n = _size(cfg, name)
    return shapes._load_or_generate(cfg.split, n, side, cfg.objects), side, n


@DATASETS.register("shapes-labels")
def load_shapes_labels(cfg: DataConfig) -> TensorData:
    """`shapes` label maps (RGB in PALETTE) -> photos of the same scenes, and back with data.direction=BtoA."""
    arrays, side, n = _scenes(cfg, "shapes-labels")
    a = Side(label_image(arrays["label_map"]), len(CLASSES), CLASSES)
    b = Side(torch.from_numpy(arrays["x"]))
    truth = scene_truth(arrays["label_map"], arrays["attributes"], arrays["background"])
    return assemble(cfg, "shapes-labels", a, b, pairs=True, truth=truth,
                    source=f"shapes-labels:{cfg.split}:{side}px:{cfg.objects}obj:n={n}:{cfg.direction}")


@DATASETS.register("shapes-edges")
def load_shapes_edges(cfg: DataConfig) -> TensorData:
    """Edges of `shapes` photos (1 channel, black on white) -> the photos."""
    arrays, side, n = _scenes(cfg, "shapes-edges")
    path = cache_file(f"shapes-edges-v{VERSION}-shapes-v{shapes.VERSION}-{side}px-{cfg.objects}obj-{cfg.split}-{n}.npz")
    lines = cached_arrays(path, lambda: {"edges": edges(arrays["x"], EDGE_THRESHOLD, EDGE_THRESHOLD)}, "shapes-edges")
    truth = scene_truth(arrays["label_map"], arrays["attributes"], arrays["background"])
    return assemble(cfg, "shapes-edges", Side(torch.from_numpy(lines["edges"])), Side(torch.from_numpy(arrays["x"])),
                    pairs=True, truth=truth,
                    source=f"shapes-edges:{cfg.split}:{side}px:{cfg.objects}obj:n={n}:{cfg.direction}")


def generate_changed(name: str, split: str, n: int, side: int, objects: int) -> dict[str, np.ndarray]:
    """Scenes drawn twice: attribute CHANGES[name] at its A value, then at its B value.

    Returns x_a, x_b uint8 (n, 3, side, side), map_a, map_b uint8 (n, side, side), attributes int64
    (n, objects, 4) of the A side and background int64 (n,)."""
    from tqdm import tqdm

    attribute, value_a, value_b = CHANGES[name]
    rng = random.Random(_SEEDS[name][split] + 1000 * objects + side)
    out = {"x_a": np.zeros((n, 3, side, side), np.uint8), "x_b": np.zeros((n, 3, side, side), np.uint8),
           "map_a": np.zeros((n, side, side), np.uint8), "map_b": np.zeros((n, side, side), np.uint8),
           "attributes": np.zeros((n, objects, 4), np.int64), "background": np.zeros(n, np.int64)}
    for i in tqdm(range(n), desc=f"{name} {split}: drawing", unit="scene", disable=None, file=sys.stderr):
        cells = sorted(rng.sample(range(len(POSITIONS)), objects))  # reading order, never sharing a cell
        things = []
        for cell in cells:
            shape, colour, size = rng.randrange(len(SHAPES)), rng.randrange(len(COLOURS)), rng.randrange(len(SIZES))
            things.append(replace(jittered(rng, shape, colour, size, cell), **{attribute: value_a}))
        background = rng.randrange(len(BACKGROUNDS))
        tint = (rng.randint(-8, 8), rng.randint(-8, 8), rng.randint(-8, 8))
        out["x_a"][i], out["map_a"][i] = draw(things, background, tint, side)
        changed = [replace(t, **{attribute: value_b}) for t in things]
        out["x_b"][i], out["map_b"][i] = draw(changed, background, tint, side)
        out["attributes"][i] = [(t.shape, t.colour, t.size, t.position) for t in things]
        out["background"][i] = background
    return out


def _load_changed(cfg: DataConfig, name: str) -> TensorData:
    side, n = _size(cfg, name)
    path = cache_file(f"{name}-v{VERSION}-{side}px-{cfg.objects}obj-{cfg.split}-{n}.npz")
    arrays = cached_arrays(path, lambda: generate_changed(name, cfg.split, n, side, cfg.objects), name)
    attribute, _, value_b = CHANGES[name]
    attributes_b = arrays["attributes"].copy()
    attributes_b[:, :, list(shapes.ATTRIBUTES).index(attribute)] = value_b
    background = arrays["background"]
    a = Side(torch.from_numpy(arrays["x_a"]), truth=scene_truth(arrays["map_a"], arrays["attributes"], background))
    b = Side(torch.from_numpy(arrays["x_b"]), truth=scene_truth(arrays["map_b"], attributes_b, background))
    return assemble(cfg, name, a, b, pairs=True, truth={},
                    source=f"{name}:{cfg.split}:{side}px:{cfg.objects}obj:n={n}:{cfg.direction}")


@DATASETS.register("shapes-recolor")
def load_shapes_recolor(cfg: DataConfig) -> TensorData:
    """The same scenes with their object(s) red (A) and blue (B): shape, size, place and background kept."""
    return _load_changed(cfg, "shapes-recolor")


@DATASETS.register("shapes-reshape")
def load_shapes_reshape(cfg: DataConfig) -> TensorData:
    """The same scenes with their object(s) circles (A) and squares (B): colour, size, place and background kept."""
    return _load_changed(cfg, "shapes-reshape")


__all__ = ["CHANGES", "CLASSES", "generate_changed", "load_shapes_edges", "load_shapes_labels",
           "load_shapes_recolor", "load_shapes_reshape", "scene_truth"]
