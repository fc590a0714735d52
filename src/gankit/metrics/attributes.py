"""Attribute classifiers: one small CNN with a head per attribute, trained on a dataset's real images.

"Did it draw what was asked?" needs a judge that reads every attribute a prompt can name. For a
dataset with several label fields (shapes: shape, colour, size, position, background) or tags
(characters), gankit trains one network on the real train split:

    x -> conv4x4/2 (32) -> conv4x4/2 (64) -> conv4x4/2 (128), BN + ReLU each -> flatten
      -> Linear 256, BN, ReLU   (the features: FID "in these features")
      -> one Linear head per attribute: softmax over its values (labels) or sigmoid per tag (tags)

The flatten keeps where things are, which position needs. Each head's accuracy on the real test
split is measured once and stored in the file's metadata, and every score made with the network
reports it: a generator cannot be judged more exactly than its judge reads real images.
Cached like the domain classifier: safetensors under $GANKIT_CACHE/classifiers, keyed by the
data and the recipe; training is seeded and single-threaded, so the weights are reproducible.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import DataConfig
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.files import atomic_write, sha256_tensors
from gankit.metrics import classifier_files
from gankit.metrics.features import FeatureNet, Log, cache_dir, load_split, log_stderr


@dataclass(frozen=True)
class AttributeRecipe:
    arch: str = "attr-cnn3-v1"  # bump when AttributeCNN changes
    feature_dim: int = 256
    epochs: int = 2
    batch_size: int = 128
    max_lr: float = 3e-3
    seed: int = 0
    train_limit: int = 0  # > 0: the first N training images only (tests)


class AttributeCNN(nn.Module):
    def __init__(self, shape: tuple[int, ...], heads: dict[str, int], recipe: AttributeRecipe) -> None:
        super().__init__()
        c, h, _ = shape
        layers: list[nn.Module] = []
        for c_in, c_out in ((c, 32), (32, 64), (64, 128)):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        side = h // 8
        self.trunk = nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * side * side, recipe.feature_dim, bias=False),
                                   nn.BatchNorm1d(recipe.feature_dim), nn.ReLU())
        self.heads = nn.ModuleDict({k: nn.Linear(recipe.feature_dim, n) for k, n in heads.items()})

    def embed(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.trunk(x)
        return {k: head(h) for k, head in self.heads.items()}


def attribute_fields(data: TensorData, exclude: tuple[str, ...] = ("combo_held_out",)) -> dict[str, str]:
    """{field: kind} of the attributes a judge reads: every label field of the data (shapes' shape,
    colour ...; characters' hair colour, smile ...), else its tag fields (a tags-only folder)."""
    labels = {k: "label" for k, s in data.specs.items() if s.kind == "label" and k not in exclude}
    return labels or {k: s.kind for k, s in data.specs.items() if s.kind == "multi_hot" and k not in exclude}


def _loss(out: dict[str, Tensor], batch: dict[str, Tensor], kinds: dict[str, str]) -> Tensor:
    total = out[next(iter(out))].new_zeros(())
    for k, logits in out.items():
        target = batch[k]
        total = total + (F.cross_entropy(logits, target) if kinds[k] == "label"
                         else F.binary_cross_entropy_with_logits(logits, target.float()))
    return total


def predict(model: AttributeCNN, x: Tensor, kinds: dict[str, str], chunk: int = 1000) -> dict[str, Tensor]:
    """Per attribute: the predicted value (labels, (N,)) or tags present (multi_hot, (N, T) bool)."""
    model.eval()
    parts: dict[str, list[Tensor]] = {k: [] for k in kinds}
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            for k, logits in model(x[i : i + chunk].contiguous()).items():
                parts[k].append(logits.argmax(1) if kinds[k] == "label" else logits > 0)
    return {k: torch.cat(v) for k, v in parts.items()}


def accuracies(pred: dict[str, Tensor], truth: dict[str, Tensor]) -> dict[str, float]:
    """Per attribute: the fraction right (labels) or the mean per-tag accuracy (tags)."""
    out = {}
    for k, p in pred.items():
        t = truth[k].to(p.device)
        out[k] = float((p == (t > 0.5 if p.dtype == torch.bool else t)).double().mean())
    return out


def _train(train: TensorData, kinds: dict[str, str], recipe: AttributeRecipe) -> AttributeCNN:
    from gankit.metrics.fit import fit_seeded

    return fit_seeded(lambda: AttributeCNN(train.shape, {k: train.specs[k].classes for k in kinds}, recipe),
                      train, ("x", *kinds), lambda out, batch: _loss(out, batch, kinds), recipe)


@dataclass
class AttributeJudge:
    """A trained attribute classifier, its features as a FeatureNet and its test accuracies."""

    model: AttributeCNN
    kinds: dict[str, str]
    names: dict[str, tuple[str, ...]]  # value or tag names per attribute
    test_accuracy: dict[str, float]
    net: FeatureNet

    def predict(self, x: Tensor) -> dict[str, Tensor]:
        return predict(self.model, x, self.kinds)


_MEMO: dict[tuple, AttributeJudge] = {}


def attribute_judge(data_cfg: DataConfig, recipe: AttributeRecipe = AttributeRecipe(),
                    log: Log = log_stderr) -> AttributeJudge:
    """The attribute classifier of `data_cfg`'s dataset: from the cache, else trained (~1 min) and cached."""
    from safetensors.torch import save

    # One judge per dataset and resolution, whatever a run's own data.n_samples (a 25,000-image run and a
    # 50,000-image one are scored alike); only a small test run (< 10,000) is judged on its own data.
    # Captions play no part in judging images, so they are never encoded for it.
    full = DataConfig().n_samples
    data_cfg = dataclasses.replace(data_cfg, split="train", limit=0, text_encoder="",
                                   n_samples=full if data_cfg.n_samples >= 10_000 else data_cfg.n_samples)
    memo = (dataclasses.astuple(data_cfg), recipe)
    if memo in _MEMO:
        return _MEMO[memo]
    train, test = load_split(data_cfg, "train"), load_split(data_cfg, "test")
    if train is None or test is None or train.kind != "images":
        raise UserError(f"dataset {data_cfg.name!r} has no train and test images for an attribute classifier")
    kinds = attribute_fields(train)
    if not kinds:
        raise UserError(f"dataset {data_cfg.name!r} has no attributes (label or tag fields) to judge")
    data_hash = sha256_tensors([train.fields["x"], test.fields["x"], *(train.fields[k] for k in kinds)])
    recipe_json = json.dumps(dataclasses.asdict(recipe), sort_keys=True)
    digest = sha256_tensors([], salt=f"gankit-attributes|{data_hash}|{recipe_json}")
    path = cache_dir() / "classifiers" / f"{data_cfg.name}-attributes-{digest[:16]}.safetensors"
    model = AttributeCNN(train.shape, {k: train.specs[k].classes for k in kinds}, recipe)
    meta = classifier_files.read_cached(model, path, "attribute classifier", log)
    if meta is None:
        log(f"attribute classifier: training on {data_cfg.name}:train ({len(train)} images, {len(kinds)} heads) ...")
        start = time.monotonic()
        model = _train(train, kinds, recipe)
        acc = accuracies(predict(model, test.x, kinds), {k: test.fields[k] for k in kinds})
        meta = {"test_accuracy": json.dumps(acc), "test_split": f"{data_cfg.name}:test", "recipe": recipe_json,
                "train_seconds": f"{time.monotonic() - start:.1f}", "data_sha256": data_hash}
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, save({k: v.contiguous() for k, v in model.state_dict().items()}, metadata=meta))
        log(f"attribute classifier: test accuracy {', '.join(f'{k} {100 * v:.2f}%' for k, v in acc.items())}; "
            f"cached in {path}")
    model.eval().requires_grad_(False)
    acc = {k: float(v) for k, v in json.loads(meta["test_accuracy"]).items()}
    weights = sha256_tensors(list(model.state_dict().values()))
    net = FeatureNet(name=f"{data_cfg.name}-attributes ({recipe.arch}, penultimate {recipe.feature_dim})",
                     sha256=weights, embed=model.embed, input_shape=train.shape,
                     info={"test_accuracy_per_attribute": acc, "test_split": meta["test_split"], "file": str(path),
                           "trained_on": f"{data_cfg.name}:train, {len(train)} images at {train.shape[-1]} px"})
    judge = AttributeJudge(model, kinds, {k: train.specs[k].names for k in kinds}, acc, net)
    _MEMO[memo] = judge
    return judge
