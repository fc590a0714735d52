"""What every metric shares: its registration, what it needs, the context it scores, a Score.

A metric is one small file: the formula as a plain function on tensors, and an `evaluate(ctx)` that
applies it to an evaluation context and says what it used. Both go into the one registry,
`gankit.registry.METRICS`, as a `Metric` that declares what it needs:

    @register_metric("fid", kind="images", formula=fid_from_features, needs=("feature_net",))
    def evaluate_fid(ctx: EvalContext) -> list[Score]:
        return [Score("fid", fid_from_features(ctx.features("fake"), ctx.features("real")), ctx.feature_net)]

    METRICS.get("fid").formula(fake_features, real_features)     # the math
    METRICS.get("fid").evaluate(ctx)                             # what `gankit evaluate --metrics fid` runs

Needs (what the evaluation must have; `NEEDS` says each in words, for refusals):
    feature_net, classifier, mixture, condition:KEY (samples asked for a condition, e.g.
    condition:label), pairs (a ground-truth target per sample), reference (real samples),
    dataset:NAME (samples of that dataset: a metric of one dataset's structure, e.g. stacked_modes).
The context computes features and logits once and shares them between metrics.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import Mixture
from gankit.errors import UserError
from gankit.metrics.features import FeatureNet
from gankit.registry import METRICS

Kind = Literal["images", "points"]
Evaluate = Callable[["EvalContext"], "list[Score]"]

NEEDS: dict[str, str] = {
    "feature_net": "a feature network",
    "classifier": "a domain classifier (labelled reference data)",
    "mixture": "a Gaussian-mixture dataset (ring8, grid25)",
    "condition:label": "a class-conditional generator (or --fake sub-folders named by class)",
    "pairs": "a ground-truth target for each sample (paired data)",
    "reference": "real reference samples",
}


def describe_need(need: str) -> str:
    if need in NEEDS:
        return NEEDS[need]
    if need.startswith("condition:"):
        return f"samples asked for a {need.split(':', 1)[1]} condition"
    if need.startswith("dataset:"):
        name = need.split(":", 1)[1]
        return f"samples of the {name} dataset (a run trained on it, or --real {name})"
    return need


@dataclass(frozen=True)
class Score:
    """One number, the network whose features or logits it used (None: raw samples), extra provenance."""

    key: str
    value: float | int
    net: FeatureNet | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """A registered metric: its formula, how `gankit evaluate` runs it on `kind` samples, what it needs."""

    name: str
    evaluate: Evaluate
    kind: Kind | Literal["any"]  # the samples it scores; "any": images and points alike
    needs: tuple[str, ...] = ()
    formula: Callable[..., Any] | None = None
    description: str = ""
    min_n: int = 1  # fewest samples on each side for a number worth printing (why: MIN_N_WHY)
    n_samples: int = 0  # generated samples its published protocol scores (0: the evaluation's default)

    def missing(self, have: set[str]) -> list[str]:
        """The needs that an evaluation with `have` cannot meet."""
        return [n for n in self.needs if n not in have]


# Statistics of feature distributions need enough samples to mean anything: FID and KID are biased
# upwards at small n (FID of two halves of one dataset is far from 0 below a few hundred samples), and
# nearest-neighbour manifolds (PRDC, k = 5) are noise below about ten times k.
MIN_N_WHY = "below that, the estimate is dominated by its small-sample bias and noise"


def register_metric(name: str, kind: Kind | Literal["any"], formula: Callable[..., Any] | None = None,
                    needs: tuple[str, ...] = ("reference",), min_n: int = 1,
                    n_samples: int = 0) -> Callable[[Evaluate], Evaluate]:
    """Decorator for a metric's `evaluate(ctx) -> list[Score]`: registers the Metric in METRICS."""

    def decorator(evaluate: Evaluate) -> Evaluate:
        doc = (evaluate.__doc__ or "").strip().splitlines()
        METRICS.register(name)(Metric(name, evaluate, kind, tuple(needs), formula, doc[0] if doc else "", min_n,
                                       n_samples))
        return evaluate

    return decorator


def check_sample_size(metrics: list[Metric], n_fake: int, n_real: int) -> None:
    """Refuse, with one line, a metric asked for on fewer samples than it needs."""
    for m in metrics:
        if min(n_fake, n_real) < m.min_n:
            raise UserError(f"metric {m.name!r} needs at least {m.min_n} generated and {m.min_n} real samples "
                            f"({MIN_N_WHY}); got {n_fake} generated and {n_real} real")


def get_metric(name: str) -> Metric:
    """The metric `name`; UserError listing the known names otherwise."""
    metric: Metric = METRICS.get(name)
    return metric


def evaluable(kind: Kind | None = None) -> list[str]:
    """Names of the metrics `gankit evaluate` can run (of one kind of samples, if given)."""
    return [n for n in METRICS.names() if kind is None or METRICS.get(n).kind in (kind, "any")]


@dataclass
class EvalContext:
    """Generated and reference samples, the networks to look at them with, and a seed.

    fake: (N, C, H, W) images in [-1, 1] or (N, 2) points.   real: (M, ...) the same kind.
    feature_net embeds images for FID/KID/PRDC; classifier gives logits (the domain classifier,
    also when feature_net is Inception). conditions: what each sample was asked for, by condition
    key, e.g. {"label": (N,) int64}. pairs: (N, ...) the ground-truth target of each sample.
    real_labels / num_classes: the reference labels, for the class histogram.
    mixture: the toy mixture's geometry; fresh_real(n, generator) draws new data points.
    data_cfg: the reference dataset's config (its name meets the need dataset:NAME; its path
    locates the files a dataset-specific metric reads, e.g. stacked_modes' Fashion-MNIST).
    """

    fake: Tensor
    real: Tensor
    real_name: str
    seed: int = 0
    feature_net: FeatureNet | None = None
    classifier: FeatureNet | None = None
    conditions: dict[str, Tensor] = field(default_factory=dict)
    pairs: Tensor | None = None
    real_labels: Tensor | None = None
    num_classes: int = 0
    mixture: Mixture | None = None
    fresh_real: Callable[[int, torch.Generator], Tensor] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    data_cfg: DataConfig | None = None
    _cache: dict[tuple[str, str, str], Tensor] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> Kind:
        return "images" if self.fake.ndim == 4 else "points"

    def _samples(self, which: str) -> Tensor:
        if which not in ("fake", "real"):
            raise ValueError(f"which must be 'fake' or 'real', got {which!r}")
        return self.fake if which == "fake" else self.real

    def features(self, which: str) -> Tensor:
        """(N, d) float32 features of the fake or real images in `feature_net` (computed once)."""
        net = self.require("feature_net")
        key = ("features", net.name, which)
        if key not in self._cache:
            self._cache[key] = net.features(self._samples(which))
        return self._cache[key]

    def logits(self, which: str) -> Tensor:
        """(N, K) float32 class logits of the fake or real images in the domain classifier."""
        net = self.require("classifier")
        key = ("logits", net.name, which)
        if key not in self._cache:
            self._cache[key] = net.logits(self._samples(which))
        return self._cache[key]

    def available(self) -> set[str]:
        """The needs this context meets (see NEEDS)."""
        have = {name for name in ("feature_net", "classifier", "mixture", "pairs") if getattr(self, name) is not None}
        have |= {f"dataset:{self.data_cfg.name}"} if self.data_cfg is not None else set()
        return have | {f"condition:{k}" for k in self.conditions} | ({"reference"} if len(self.real) else set())

    def require(self, what: str) -> Any:
        value = getattr(self, what)
        if value is None:
            raise UserError(f"this metric needs {describe_need(what)}, which this evaluation does not have")
        return value

    def condition(self, key: str) -> Tensor:
        """What each sample was asked for under condition `key` (e.g. "label")."""
        if key not in self.conditions:
            raise UserError(f"this metric needs {describe_need('condition:' + key)}, which this evaluation does not have")
        return self.conditions[key]

    def generator(self, salt: int) -> torch.Generator:
        """A generator seeded from the evaluation seed; `salt` keeps metrics independent."""
        return torch.Generator().manual_seed(self.seed * 1000 + salt)


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN/inf: store them as null (the provenance says why when it matters)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
