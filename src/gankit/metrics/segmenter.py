"""The FCN-score's judge: a small segmenter trained on real `shapes` images, with its own accuracy.

pix2pix and CycleGAN score a label map -> photo translation by running an off-the-shelf
segmenter (FCN-8s on Cityscapes) on the generated photos and comparing its label maps with the
input ones: if the photo is realistic, a network trained on real photos reads the right classes
out of it. gankit trains its own on the real `shapes` train split (image -> label_map: 0 =
background, 1 + shape index per pixel), at the dataset's resolution and number of objects:

    x (3, S, S) -> conv3x3 (w)                                          S     skip 0
      -> [conv4x4/2 (2w), conv3x3]  ... down to 8 x 8 (S = 32: 2 levels)  S/2   skip 1 ...
      -> conv3x3 dilation 2 (context: the whole 8x8 grid, so the whole object)
      -> [nearest x2, concat skip, conv3x3] back up to S -> conv1x1 -> K class logits per pixel
    (every conv but the last: BN + ReLU; w = 16, channels capped at 4w)

A small U-Net: the low-resolution path sees the whole object (which shape is it?), the skips put
its edges back on the right pixels. Its per-pixel accuracy, per-class accuracy and class IoU on
the REAL test split are measured once, stored in the file's metadata and returned with every
score: a generator cannot be judged more exactly than its judge reads real images (the ceiling).
Cached like the attribute classifier: safetensors under $GANKIT_CACHE/classifiers, keyed by the
data (train and test images and label maps) and the recipe; training is seeded and single-threaded,
so the weights are reproducible on one machine.

    seg = segmenter_for(DataConfig(name="shapes", resolution=32))   # trains once, then cached
    seg.predict(x)                      # (N, S, S) int64 class ids of images x in [-1, 1]
    fcn_score(seg, fakes, label_maps)   # the FCN-score table, with seg.real_scores beside it
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.files import atomic_write, sha256_tensors
from gankit.metrics import classifier_files
from gankit.metrics.features import Log, cache_dir, load_split, log_stderr
from gankit.metrics.translation import segmentation_scores

__all__ = ["SegNet", "Segmenter", "SegmenterRecipe", "fcn_score", "segmenter_for"]

BOTTLENECK = 8  # side of the lowest level: 8 x 8 cells, each seeing a quarter of a 32-px image's width


@dataclass(frozen=True)
class SegmenterRecipe:
    """How the segmenter is trained; every field is part of its cache key."""

    arch: str = "seg-unet-v1"  # bump when SegNet's code changes, so old caches are not reused
    width: int = 16  # channels at full resolution (x2 per level down, capped at 4x)
    epochs: int = 1
    batch_size: int = 32  # more steps beat bigger batches here: 625 x 32 ~ 625 x 64 images (99.84% vs 99.86%)
    max_lr: float = 4e-3  # one-cycle Adam, as the other judges
    seed: int = 0
    train_limit: int = 40_000  # > 0: the first N training images only (one core at 32 px: ~2.5 min, 64 px: ~4x)


def _block(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = (kernel - stride) // 2 if stride > 1 else dilation * (kernel - 1) // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, pad, dilation=dilation, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class SegNet(nn.Module):
    """Images (N, C, S, S) in [-1, 1] -> class logits (N, K, S, S); S a multiple of 8 (16, 32, 64)."""

    def __init__(self, shape: tuple[int, ...], classes: int, recipe: SegmenterRecipe) -> None:
        super().__init__()
        c, h, w = shape
        levels = max(1, round(math.log2(max(h, 1) / BOTTLENECK)))
        if h != w or h % 2 ** levels:
            raise UserError(f"the segmenter takes square images whose side is a multiple of {2 ** levels}; "
                            f"got {h}x{w}")
        widths = [min(recipe.width * 2 ** i, 4 * recipe.width) for i in range(levels + 1)]
        self.stem = _block(c, widths[0])
        self.down = nn.ModuleList(nn.Sequential(_block(widths[i], widths[i + 1], 4, 2),
                                                _block(widths[i + 1], widths[i + 1])) for i in range(levels))
        self.context = _block(widths[-1], widths[-1], dilation=2)
        self.up = nn.ModuleList(_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(levels)))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        h = self.context(skips.pop())
        for up in self.up:
            h = up(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skips.pop()], 1))
        return self.head(h)


def label_map_field(data: TensorData) -> str:
    """The name of the data's label-map field (shapes: "label_map")."""
    fields = [k for k, s in data.specs.items() if s.kind == "label_map"]
    if not fields:
        raise UserError(f"dataset {data.source or '?'} has no label maps to train a segmenter on")
    return fields[0]


def predict(model: SegNet, x: Tensor, chunk: int = 500) -> Tensor:
    """(N, H, W) int64: the most likely class of every pixel of images x (N, C, H, W) in [-1, 1]."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i : i + chunk].float().contiguous()).argmax(1) for i in range(0, len(x), chunk)])


def _train(train: TensorData, lm: str, recipe: SegmenterRecipe) -> SegNet:
    from gankit.metrics.fit import fit_seeded

    # cross-entropy averaged over every pixel of the batch
    return fit_seeded(lambda: SegNet(train.shape, train.specs[lm].classes, recipe), train, ("x", lm),
                      lambda out, batch: F.cross_entropy(out, batch[lm]), recipe)


@dataclass
class Segmenter:
    """A trained segmenter, its class names and its scores on real test images (the ceiling)."""

    model: SegNet
    names: tuple[str, ...]  # class names, index = class id ("background", then the shapes)
    input_shape: tuple[int, ...]  # (C, S, S) it takes
    real_scores: dict[str, Any]  # segmentation_scores on the real test split
    info: dict[str, Any] = field(default_factory=dict)  # file, recipe, weights' SHA-256, training time ...

    @property
    def classes(self) -> int:
        return len(self.names)

    def predict(self, x: Tensor) -> Tensor:
        """(N, S, S) int64 class ids of images x (N, C, S, S) in [-1, 1]."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise UserError(f"the segmenter takes images of shape {self.input_shape}, got {tuple(x.shape[1:])}")
        return predict(self.model, x.cpu())


def fcn_score(segmenter: Segmenter, fakes: Tensor, truth: Tensor) -> dict[str, Any]:
    """The FCN-score of generated images `fakes` (N, C, S, S) in [-1, 1] against the label maps they were
    made from, `truth` (N, S, S): segmentation_scores(segmenter.predict(fakes), truth), with the same
    scores of the segmenter on real test images beside it ("real_images": the most a generator can
    reach) and which segmenter judged ("segmenter")."""
    scores = segmentation_scores(segmenter.predict(fakes), truth.cpu().long(), segmenter.classes, segmenter.names)
    return {**scores, "real_images": segmenter.real_scores, "segmenter": segmenter.info}


_MEMO: dict[tuple, Segmenter] = {}


def segmenter_for(data_cfg: DataConfig, recipe: SegmenterRecipe = SegmenterRecipe(), log: Log = log_stderr,
                  dataset: str = "shapes") -> Segmenter:
    """The segmenter of `dataset`'s real images at `data_cfg`'s resolution and number of objects: from the
    cache, else trained (~2.5 min on one core at 32 px) and cached. Other fields of `data_cfg` (its name:
    a translation dataset built on shapes, its direction ...) play no part."""
    from safetensors.torch import save

    # One segmenter per resolution and object count, whatever a run's own n_samples (as attribute_judge):
    # only a small test run (< 10,000 images) is judged on its own data.
    full = DataConfig().n_samples
    cfg = DataConfig(name=dataset, split="train", resolution=data_cfg.resolution, objects=data_cfg.objects,
                     n_samples=full if data_cfg.n_samples >= 10_000 else data_cfg.n_samples)
    memo = (dataclasses.astuple(cfg), recipe)
    if memo in _MEMO:
        return _MEMO[memo]
    train, test = load_split(cfg, "train"), load_split(cfg, "test")
    if train is None or test is None or train.kind != "images":
        raise UserError(f"dataset {dataset!r} has no train and test images for a segmenter")
    lm = label_map_field(train)
    names = tuple(train.specs[lm].names)
    side = train.shape[-1]
    data_hash = sha256_tensors([train.fields["x"], train.fields[lm], test.fields["x"], test.fields[lm]])
    recipe_json = json.dumps(dataclasses.asdict(recipe), sort_keys=True)
    digest = sha256_tensors([], salt=f"gankit-segmenter|{data_hash}|{recipe_json}")
    stem = f"{dataset}-{side}px-{cfg.objects}obj-n{len(train)}-segmenter"
    path = cache_dir() / "classifiers" / f"{stem}-{digest[:16]}.safetensors"
    with torch.random.fork_rng(devices=[]):  # a shell for the cached weights: its init must not move the global RNG
        model = SegNet(train.shape, len(names), recipe)
    meta = classifier_files.read_cached(model, path, "segmenter", log, check=lambda m: json.loads(m["real_scores"]))
    if meta is None:
        n_used = len(train) if recipe.train_limit <= 0 else min(len(train), recipe.train_limit)
        log(f"segmenter: training on {dataset}:train ({n_used} images at {side} px, {recipe.epochs} epoch(s)) ...")
        start = time.monotonic()
        model = _train(train, lm, recipe)
        seconds = time.monotonic() - start
        real = segmentation_scores(predict(model, test.x), test.column(lm), len(names), names)
        meta = {"real_scores": json.dumps(real), "test_split": f"{test.source}", "recipe": recipe_json,
                "train_seconds": f"{seconds:.1f}", "data_sha256": data_hash, "n_train": str(n_used),
                "n_test": str(len(test)), "classes": json.dumps(names)}
        atomic_write(path, save({k: v.contiguous() for k, v in model.state_dict().items()}, metadata=meta))
        log(f"segmenter: trained in {seconds:.0f} s; on real test images per-pixel accuracy "
            f"{100 * real['per_pixel_accuracy']:.2f}%, per-class {100 * real['per_class_accuracy']:.2f}%, "
            f"class IoU {100 * real['class_iou']:.2f}%; cached in {path}")
    model.eval().requires_grad_(False)
    state = model.state_dict()
    info = {"name": f"{dataset}-segmenter ({recipe.arch}, {side} px, {cfg.objects} object(s))",
            "sha256": sha256_tensors([state[k] for k in sorted(state)], salt=",".join(sorted(state))),
            "file": str(path), "recipe": json.loads(meta["recipe"]), "train_seconds": float(meta["train_seconds"]),
            "trained_on": f"{train.source}, first {meta['n_train']} images", "test_split": meta["test_split"],
            "data_sha256": meta["data_sha256"]}
    seg = Segmenter(model, names, tuple(train.shape), json.loads(meta["real_scores"]), info)
    _MEMO[memo] = seg
    return seg
