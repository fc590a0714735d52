"""Feature networks: a domain classifier gankit trains itself, and (inception.py) the FID Inception.

A score in a feature space means something only with the exact weights beside it, so every
`FeatureNet` carries a name and the SHA-256 of its weights file, and nothing is ever swapped in
silently. The domain classifier is a small CNN trained on a labelled dataset's train split
(penultimate layer = features, last layer = logits for the classifier score). It is cached in
`$GANKIT_CACHE/classifiers` (default ~/.cache/gankit) under a key that hashes the data (train
and held-out images and labels) and the recipe, written atomically as safetensors (no code
runs on load); its held-out accuracy is measured once and stored in the file's metadata.

    net = domain_classifier(DataConfig(name="fashion-mnist"))   # trains once (~65 s), then cached
    f = net.features(x)   # (N, 128)      logits = net.logits(x)   # (N, 10)
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.files import atomic_write, sha256_tensors
from gankit.metrics import classifier_files
from gankit.registry import CLASSIFIERS, DATASETS

Log = Callable[[str], None]


def log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """$GANKIT_CACHE, else ~/.cache/gankit."""
    return Path(os.environ.get("GANKIT_CACHE") or "~/.cache/gankit").expanduser()


@dataclass
class FeatureNet:
    """A frozen network that maps images (N, C, H, W) in [-1, 1] to features and (maybe) logits."""

    name: str
    sha256: str  # of the weights (classifier: its tensors; Inception: the file): equal hashes, comparable scores
    embed: Callable[[Tensor], Tensor]
    classify: Callable[[Tensor], Tensor] | None = None
    input_shape: tuple[int, ...] | None = None  # (C, H, W) it accepts; None = any size
    batch_size: int = 500
    info: dict[str, Any] = field(default_factory=dict)  # accuracy, recipe, cache file ...

    def _run(self, fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise UserError(f"{self.name} takes images of shape {self.input_shape}, got {tuple(x.shape[1:])}")
        with torch.no_grad():
            return torch.cat([fn(x[i : i + self.batch_size].contiguous()).float()
                              for i in range(0, len(x), self.batch_size)])

    def features(self, x: Tensor) -> Tensor:
        """(N, d) float32 features of images x (N, C, H, W) in [-1, 1]."""
        return self._run(self.embed, x)

    def logits(self, x: Tensor) -> Tensor:
        """(N, K) float32 class logits; only a classifier has them."""
        if self.classify is None:
            raise UserError(f"{self.name} is not a classifier: it has no logits")
        return self._run(self.classify, x)


# ---------------------------------------------------------------- the domain classifier

@dataclass(frozen=True)
class ClassifierRecipe:
    """How the domain classifier is trained; every field is part of its cache key."""

    arch: str = "cnn2s-v2"  # bump when DomainCNN's code changes, so old caches are not reused
    width: int = 32  # channels of the first conv (the second has 2x)
    feature_dim: int = 128  # penultimate layer = the feature space of FID/KID/PRDC
    epochs: int = 3  # Fashion-MNIST: 91.4% test accuracy in ~65 s on one busy core
    min_steps: int = 500  # small datasets (1,438 digits = 5 batches) get more epochs to reach this
    batch_size: int = 256
    max_lr: float = 3e-3  # one-cycle Adam schedule: a good optimum in few epochs
    seed: int = 0
    train_limit: int = 0  # > 0: train on the first N training images only (tests)


class DomainCNN(nn.Module):
    """conv4x4/2-BN-ReLU -> conv3x3/2-BN-ReLU -> adaptive avg pool to <= 7x7 -> Linear-BN-ReLU
    (the features) -> Linear (the logits).

    28x28: 32x14x14 -> 64x7x7 -> 3136 -> 128 -> K, about 1.1 M multiply-adds per image. Strided
    convolutions instead of conv + max-pool: 2.5x faster per step on CPU for 0.2-0.4 points of
    accuracy (measured on Fashion-MNIST, docs/EVALUATION.md).
    """

    def __init__(self, shape: tuple[int, ...], num_classes: int, recipe: ClassifierRecipe) -> None:
        super().__init__()
        c, h, _ = shape
        w = recipe.width
        side = min(max((h + 3) // 4, 1), 7)  # 28 -> 7, 8 -> 2; 32 and 64 pooled to 7x7
        self.trunk = nn.Sequential(
            nn.Conv2d(c, w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.AdaptiveAvgPool2d(side), nn.Flatten())
        self.penultimate = nn.Sequential(nn.Linear(2 * w * side * side, recipe.feature_dim, bias=False),
                                         nn.BatchNorm1d(recipe.feature_dim), nn.ReLU())
        self.head = nn.Linear(recipe.feature_dim, num_classes)

    def embed(self, x: Tensor) -> Tensor:
        return self.penultimate(self.trunk(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.embed(x))


@dataclass
class LabelledSplits:
    train: TensorData
    test: TensorData
    test_name: str  # "fashion-mnist:test", or "folder:every 10th image" when there is no test split
    name: str


_DATA_MEMO: dict[tuple, TensorData | None] = {}


def load_split(data_cfg: DataConfig, split: str) -> TensorData | None:
    """The whole split (no data.limit) with the config's channels/resolution; None if the dataset
    has no such split. Loaded once per process (training may ask every k steps)."""
    cfg = replace(data_cfg, split=split, limit=0)
    key = tuple(dataclasses.astuple(cfg))
    if key not in _DATA_MEMO:
        try:
            _DATA_MEMO[key] = DATASETS.get(cfg.name)(cfg)
        except UserError as exc:
            if "has split(s)" not in str(exc):  # a missing file is the user's to fix, not a fallback
                raise
            _DATA_MEMO[key] = None
    return _DATA_MEMO[key]


def labelled_splits(data_cfg: DataConfig) -> LabelledSplits:
    """Train and held-out data for the classifier: the test split, else every 10th training image."""
    train = load_split(data_cfg, "train")
    if train is None or train.kind != "images":
        raise UserError(f"dataset {data_cfg.name!r} is not an image dataset: no domain classifier for it")
    if train.y is None or train.num_classes < 2:
        raise UserError(f"dataset {data_cfg.name!r} has no class labels, so gankit cannot train a domain "
                        "classifier for it; use a labelled folder (one sub-folder per class) or --features inception")
    test = load_split(data_cfg, "test")
    if test is not None:
        return LabelledSplits(train, test, f"{data_cfg.name}:test", data_cfg.name)
    # Every 10th example of each class: deterministic and stratified (a plain every-10th would take
    # one class only from a folder of two interleaved classes).
    held = torch.zeros(len(train), dtype=torch.bool)
    for c in range(train.num_classes):
        idx = (train.y == c).nonzero().flatten()
        held[idx[9::10]] = True

    def part(m: Tensor) -> TensorData:
        return train.rows(m)

    held_name = f"{data_cfg.name}:every 10th training image of each class"
    return LabelledSplits(part(~held), part(held), held_name, data_cfg.name)


def _accuracy(model: DomainCNN, data: TensorData) -> float:
    model.eval()
    with torch.no_grad():
        x = data.x  # decoded once (uint8 images), not once per chunk
        pred = torch.cat([model(x[i : i + 1000].contiguous()).argmax(1) for i in range(0, len(data), 1000)])
    return float((pred == data.y).float().mean())


def _fit(model: DomainCNN, x: Tensor, y: Tensor, recipe: ClassifierRecipe) -> None:
    """Adam with a one-cycle schedule, seeded batches, at least recipe.min_steps steps."""
    steps_per_epoch = max(len(x) // recipe.batch_size, 1)
    epochs = max(recipe.epochs, -(-recipe.min_steps // steps_per_epoch))
    opt = torch.optim.Adam(model.parameters(), lr=recipe.max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.max_lr, pct_start=0.2,
                                                total_steps=epochs * steps_per_epoch)
    order = torch.Generator().manual_seed(recipe.seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=order)
        for i in range(steps_per_epoch):
            idx = perm[i * recipe.batch_size : (i + 1) * recipe.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()


def train_classifier(splits: LabelledSplits, recipe: ClassifierRecipe) -> tuple[DomainCNN, float, float]:
    """Train the recipe on splits.train; returns (model in eval mode, test accuracy, seconds)."""
    x, y = splits.train.x, splits.train.y
    if recipe.train_limit > 0:
        x, y = x[: recipe.train_limit], y[: recipe.train_limit]
    x = x.contiguous(memory_format=torch.channels_last)  # 1.2x faster convolutions on CPU
    start = time.monotonic()
    threads = torch.get_num_threads()
    try:
        # One thread: the weights (whose hash every score records) do not depend on the machine's
        # core count; and on this shared 2-core machine one thread trained Fashion-MNIST's
        # classifier in 90 s where two took 234 s (docs/EVALUATION.md).
        torch.set_num_threads(1)
        # fork_rng: training must not move the global RNG (a run's checkpoint stores it, and the
        # evaluation may happen inside training).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            model = DomainCNN(splits.train.shape, splits.train.num_classes, recipe)
            _fit(model.to(memory_format=torch.channels_last), x, y, recipe)
    finally:
        torch.set_num_threads(threads)
    # Back to the standard layout: a model loaded from the cache is in it, and the two must give
    # bitwise the same features (conv kernels differ in the last bits between layouts).
    model = model.to(memory_format=torch.contiguous_format)
    accuracy = _accuracy(model, splits.test)
    return model, accuracy, time.monotonic() - start


_NET_MEMO: dict[tuple, FeatureNet] = {}


def domain_classifier(data_cfg: DataConfig, recipe: ClassifierRecipe = ClassifierRecipe(),
                      log: Log = log_stderr, shipped: bool = True) -> FeatureNet:
    """The domain classifier of a labelled dataset: the one shipped with gankit for built-in data
    (the same weights, so the same scores, on every machine), else one trained on this machine on
    first use and cached. `shipped=False` ignores the shipped files (to train them)."""
    from safetensors import SafetensorError
    from safetensors.torch import save

    memo_key = (dataclasses.astuple(replace(data_cfg, split="train", limit=0)), recipe)
    if memo_key in _NET_MEMO:  # the data of one config does not change within a process
        return _NET_MEMO[memo_key]
    if data_cfg.name in CLASSIFIERS:  # composed of other datasets' classifiers (stacked-fashion: per channel)
        return _NET_MEMO.setdefault(memo_key, CLASSIFIERS.get(data_cfg.name)(data_cfg))
    splits = labelled_splits(data_cfg)
    tr, te = splits.train, splits.test
    data_hash = sha256_tensors([tr.x, tr.y, te.x, te.y])
    recipe_json = json.dumps(dataclasses.asdict(recipe), sort_keys=True)
    key = sha256_tensors([], salt=f"gankit-domain-classifier|{data_hash}|{recipe_json}")
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in splits.name)
    path = cache_dir() / "classifiers" / f"{slug}-{key[:16]}.safetensors"
    with torch.random.fork_rng(devices=[]):  # a shell for the weights read below: its init must not move the
        model = DomainCNN(tr.shape, tr.num_classes, recipe)  # global RNG (evaluation may happen inside training)
    meta: dict[str, str] | None = None
    package_file = classifier_files.shipped(path.name) if shipped else None
    origin = "trained on this machine: scores with it may differ in their last digits from another machine's"
    if package_file is not None:
        meta = classifier_files.read(model, package_file)
        origin = f"shipped with gankit ({package_file.name}, checked against MANIFEST.json): the same on every machine"
        path = package_file
        log(f"domain classifier: shipped with gankit ({100 * float(meta['test_accuracy']):.2f}% on {meta['test_split']})")
    elif path.is_file():
        try:
            meta = classifier_files.read(model, path)
            log(f"domain classifier: loaded from cache {path} (test accuracy "
                f"{100 * float(meta['test_accuracy']):.2f}% on {meta['test_split']})")
        except (SafetensorError, OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            log(f"domain classifier: cache file {path} is unreadable ({str(exc).splitlines()[0]}); retraining")
            meta = None
    if meta is None:
        n_used = len(tr) if recipe.train_limit <= 0 else min(len(tr), recipe.train_limit)
        log(f"domain classifier: training on {splits.name}:train ({n_used} images) ...")
        model, accuracy, seconds = train_classifier(splits, recipe)
        meta = {"test_accuracy": f"{accuracy:.6f}", "test_split": splits.test_name, "train_seconds": f"{seconds:.1f}",
                "recipe": recipe_json, "data_sha256": data_hash, "source": tr.source,
                "n_train": str(n_used),
                "n_test": str(len(te)), "classes": json.dumps(tr.class_names)}
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        atomic_write(path, save(state, metadata=meta))
        log(f"domain classifier: trained in {seconds:.0f} s, test accuracy {100 * accuracy:.2f}% on "
            f"{splits.test_name} ({len(te)} images); cached at {path}")
    model.eval().requires_grad_(False)
    info = {"test_accuracy": float(meta["test_accuracy"]), "test_split": meta["test_split"],
            "train_seconds": float(meta["train_seconds"]), "recipe": json.loads(meta["recipe"]),
            "data_sha256": meta["data_sha256"], "cache_file": str(path), "trained_on": f"{splits.name}:train",
            "weights_from": origin,
            "num_classes": tr.num_classes,
            "features": f"penultimate layer ({recipe.feature_dim}-d, after ReLU)"}
    # The hash of the weight tensors, not of the file: the file's metadata (training time) differs
    # between two trainings that give bitwise the same weights.
    state = model.state_dict()
    weights_hash = sha256_tensors([state[k] for k in sorted(state)], salt=",".join(sorted(state)))
    net = FeatureNet(name=f"gankit-domain-classifier/{splits.name}", sha256=weights_hash, embed=model.embed,
                     classify=model, input_shape=tuple(tr.shape), info=info)
    _NET_MEMO[memo_key] = net
    return net
