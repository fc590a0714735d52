"""Scores of the "Real or fake?" quiz from its answers (scored trials only). NumPy, no torch.

    fooling rate    F = fakes answered "real" / fake trials       (pix2pix's "% Turkers labeled real")
    real accuracy   A = reals answered "real" / real trials
    HYPE-inf        H = (F + (1 - A)) / 2                          (Zhou et al. 2019: the error rate
                    on an equal mix of real and fake; 50% = people cannot tell, above 50% = "hyper-real")

H is the error rate over all trials when the mix is equal (every complete session: 20 real, 20 fake);
the balanced form keeps 50% meaning "at chance" when a session stopped early and its mix is uneven, so
answering "real" every time gives exactly 50%.

95% intervals: percentile bootstrap in two stages, as HYPE bootstraps over evaluators and images:
draw the participants with replacement, then each drawn participant's trials with replacement (real and
fake apart, so each keeps its mix). Resampling k trials of which e are errors is a Binomial(k, e/k)
draw, which is what the code samples. n_boot replicates, seeded: the same answers give the same interval.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gankit.quiz.protocol import PROTOCOLS

CI_METHOD = ("percentile bootstrap, two stages: participants with replacement, then each one's real and "
             "fake trials with replacement")


def protocol_key(answer: dict) -> str:
    """The condition an answer belongs to: the protocol, with its exposure when not the default."""
    name, ms = answer["protocol"], answer.get("exposure_ms")
    default = PROTOCOLS[name].exposure_ms if name in PROTOCOLS else None
    return name if ms == default else f"{name}-{ms}ms"


def score(answers: list[dict], n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """HYPE-inf, fooling rate and real accuracy (fractions in [0, 1], each {"value", "ci95"}) over the
    scored trials of `answers`, with counts; "by_protocol" gives the same for each protocol alone
    (the pooled numbers mix conditions when both protocols were run). A value is None when its trials
    are missing (no fake trial: no fooling rate)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    scored = [a for a in answers if not a["practice"]]
    out = _score(scored, n_boot, seed)
    keys = sorted({protocol_key(a) for a in scored})
    out["by_protocol"] = {k: _score([a for a in scored if protocol_key(a) == k], n_boot, seed) for k in keys}
    return out


def _score(scored: list[dict], n_boot: int, seed: int) -> dict[str, Any]:
    people = sorted({a["participant"] for a in scored})
    # Per participant: [fake trials, fakes called real, real trials, reals called real]
    tally = np.zeros((len(people), 4), dtype=np.int64)
    index = {p: i for i, p in enumerate(people)}
    for a in scored:
        row = tally[index[a["participant"]]]
        col = 0 if a["truth"] == "fake" else 2
        row[col] += 1
        row[col + 1] += a["answer"] == "real"
    point = _rates(tally.sum(0, keepdims=True))[:, 0]
    boot = _bootstrap(tally, n_boot, seed) if len(people) else np.full((3, 0), np.nan)
    names = ("hype_inf", "fooling_rate", "real_accuracy")
    out: dict[str, Any] = {
        "trials": len(scored), "fake_trials": int(tally[:, 0].sum()), "real_trials": int(tally[:, 2].sum()),
        "participants": len(people),
        "sessions": len({(a["participant"], a["protocol"], a["session_seed"]) for a in scored}),
    }
    for name, value, reps in zip(names, point, boot):
        out[name] = _estimate(value, reps)
    out["n_boot"], out["ci_method"] = n_boot, CI_METHOD
    return out


def _rates(t: np.ndarray) -> np.ndarray:
    """(R, 4) tallies -> (3, R): HYPE-inf, fooling rate, real accuracy; NaN where trials are missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        fool = np.where(t[:, 0] > 0, t[:, 1] / np.maximum(t[:, 0], 1), np.nan)
        real = np.where(t[:, 2] > 0, t[:, 3] / np.maximum(t[:, 2], 1), np.nan)
    return np.stack([(fool + (1.0 - real)) / 2.0, fool, real])


def _bootstrap(tally: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(3, n_boot) replicate rates: participants drawn with replacement, then their trials."""
    rng = np.random.default_rng(seed)
    n = len(tally)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_fool = np.where(tally[:, 0] > 0, tally[:, 1] / np.maximum(tally[:, 0], 1), 0.0)
        p_real = np.where(tally[:, 2] > 0, tally[:, 3] / np.maximum(tally[:, 2], 1), 0.0)
    sums = []
    step = max(1, 250_000 // n)  # replicates per block: memory stays bounded however many took part
    for start in range(0, n_boot, step):
        who = rng.integers(0, n, size=(min(step, n_boot - start), n))  # stage 1: participants
        fakes, reals = tally[who, 0], tally[who, 2]
        fooled = rng.binomial(fakes, p_fool[who]).sum(1)  # stage 2: their trials
        real_ok = rng.binomial(reals, p_real[who]).sum(1)
        sums.append(np.stack([fakes.sum(1), fooled, reals.sum(1), real_ok], axis=1))
    return _rates(np.concatenate(sums))


def _estimate(value: float, reps: np.ndarray) -> dict[str, Any]:
    if not np.isfinite(value):
        return {"value": None, "ci95": None}
    reps = reps[np.isfinite(reps)]  # a replicate that drew no fake trial has no fooling rate
    ci = [float(q) for q in np.percentile(reps, [2.5, 97.5])] if len(reps) else None
    return {"value": float(value), "ci95": ci}
