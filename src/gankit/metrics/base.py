"""What every metric shares: its registration, the context it scores, a Score.

A metric is one small file: the formula as a plain function on tensors, registered in
`gankit.registry.METRICS` (so `METRICS.get("fid")(fake_features, real_features)` is the math,
as `METRICS.get("modes")(samples, mixture)` is for training), and an `evaluate(ctx)` that
applies it to an evaluation context and says what it used:

    @register_metric("fid", kind="images", formula=fid_from_features)
    def evaluate_fid(ctx: EvalContext) -> list[Score]:
        return [Score("fid", fid_from_features(ctx.features("fake"), ctx.features("real")), ctx.feature_net)]

`gankit evaluate --metrics fid,kid` looks each name up with `get_metric`. The context computes
features and logits once and shares them between metrics.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor

from gankit.data.base import Mixture
from gankit.errors import UserError
from gankit.registry import METRICS

if TYPE_CHECKING:  # features.py builds torch models; only the type is needed here
    from gankit.metrics.features import FeatureNet

Kind = Literal["images", "points"]
Evaluate = Callable[["EvalContext"], "list[Score]"]


@dataclass(frozen=True)
class Score:
    """One number, the network whose features or logits it used (None: raw samples), extra provenance."""

    key: str
    value: float | int
    net: FeatureNet | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """How `gankit evaluate` runs a registered metric: `evaluate(ctx)` on `kind` samples."""

    name: str
    evaluate: Evaluate
    kind: Kind
    description: str = ""


_EVALUATIONS: dict[str, Metric] = {}


def register_metric(name: str, kind: Kind, formula: Callable[..., Any] | None = None) -> Callable[[Evaluate], Evaluate]:
    """Decorator for a metric's `evaluate(ctx) -> list[Score]`.

    With `formula`, also registers the formula in METRICS under `name`; without, the formula was
    registered by its own decorator (modes.py keeps `@METRICS.register("modes")` for training).
    """

    def decorator(evaluate: Evaluate) -> Evaluate:
        if formula is not None:
            METRICS.register(name)(formula)
        if name in _EVALUATIONS:
            raise ValueError(f"metric {name!r} has two evaluations")
        doc = (evaluate.__doc__ or "").strip().splitlines()
        _EVALUATIONS[name] = Metric(name, evaluate, kind, doc[0] if doc else "")
        return evaluate

    return decorator


def get_metric(name: str) -> Metric:
    """How to evaluate the metric `name`; UserError listing the known names otherwise."""
    METRICS.get(name)  # unknown names: the registry's one-line error listing every metric
    if name not in _EVALUATIONS:
        raise UserError(f"metric {name!r} is a formula only; `gankit evaluate` runs: {', '.join(evaluable())}")
    return _EVALUATIONS[name]


def evaluable(kind: Kind | None = None) -> list[str]:
    """Names of the metrics `gankit evaluate` can run (of one kind of samples, if given)."""
    return sorted(n for n, m in _EVALUATIONS.items() if kind is None or m.kind == kind)


@dataclass
class EvalContext:
    """Generated and reference samples, the networks to look at them with, and a seed.

    fake: (N, C, H, W) images in [-1, 1] or (N, 2) points.   real: (M, ...) the same kind.
    feature_net embeds images for FID/KID/PRDC; classifier gives logits (the domain classifier,
    also when feature_net is Inception). asked_labels: (N,) classes a conditional G was asked for.
    real_labels / num_classes: the reference labels, for the class histogram.
    mixture: the toy mixture's geometry; fresh_real(n, generator) draws new data points.
    """

    fake: Tensor
    real: Tensor
    real_name: str
    seed: int = 0
    feature_net: FeatureNet | None = None
    classifier: FeatureNet | None = None
    asked_labels: Tensor | None = None
    real_labels: Tensor | None = None
    num_classes: int = 0
    mixture: Mixture | None = None
    fresh_real: Callable[[int, torch.Generator], Tensor] | None = None
    options: dict[str, Any] = field(default_factory=dict)
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

    def require(self, what: str) -> Any:
        value = getattr(self, what)
        if value is None:
            needs = {"feature_net": "a feature network", "classifier": "a domain classifier (labelled data)",
                     "mixture": "a Gaussian-mixture dataset (ring8, grid25)", "asked_labels":
                     "a class-conditional generator (or --fake sub-folders named by class)"}
            raise UserError(f"this metric needs {needs.get(what, what)}, which this evaluation does not have")
        return value

    def generator(self, salt: int) -> torch.Generator:
        """A generator seeded from the evaluation seed; `salt` keeps metrics independent."""
        return torch.Generator().manual_seed(self.seed * 1000 + salt)


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN/inf: store them as null (the provenance says why when it matters)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
