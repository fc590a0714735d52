"""Where a number came from: the provenance record of a score (hashing and atomic writes are in
gankit.files, a leaf module every writer shares).

Every score in scores.json carries, beside it, the metric, the feature network (name and
SHA-256 of its weights file), the sample counts, the reference data and split, the seed and
the gankit version: two numbers are comparable only when these agree.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from gankit.files import strict_json
from gankit.metrics.base import EvalContext, Score, finite_or_none
from gankit.metrics.features import FeatureNet


def gankit_version() -> str:
    from importlib import metadata

    try:
        import gankit

        return str(gankit.__version__)
    except (ImportError, AttributeError):  # while gankit/__init__ is still importing
        return metadata.version("gankit")


def net_summary(net: FeatureNet | None) -> dict[str, Any]:
    if net is None:
        return {"feature_net": "none (raw samples)", "weights_sha256": None}
    return {"feature_net": net.name, "weights_sha256": net.sha256}


def record(metric: str, score: Score, ctx: EvalContext, n_fake: int | None = None,
           n_real: int | None = None) -> dict[str, Any]:
    """The provenance of one score: what was compared, in which feature space, how."""
    prov: dict[str, Any] = {"metric": metric, **net_summary(score.net),
                            "n_fake": int(n_fake if n_fake is not None else len(ctx.fake)),
                            "n_real": int(n_real if n_real is not None else len(ctx.real)),
                            "real": ctx.real_name, "seed": ctx.seed, "gankit_version": gankit_version()}
    prov.update({k: clean(v) for k, v in score.extra.items()})
    return prov


def clean(value: Any) -> Any:
    """Plain JSON values: floats rounded to 6 significant digits, NaN/inf as null."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float):
        value = finite_or_none(value)
        return None if value is None else float(f"{value:.6g}")
    return value


def dumps(obj: Any) -> str:
    """Strict JSON: NaN/inf as null with a "KEY_why" beside them, floats to 6 significant digits."""
    return json.dumps(clean(strict_json(obj)), indent=2, allow_nan=False) + "\n"
