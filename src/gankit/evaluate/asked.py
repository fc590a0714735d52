"""Did it draw what was asked? Attribute accuracy of a conditional run on prompt sets with known answers.

For a dataset that registers prompt sets (`PROMPT_SETS`, e.g. shapes: training captions, unseen
paraphrases, French prompts, held-out combinations), each prompt of a set is a test example's
caption (or tags); the generator draws one sample per prompt, and the dataset's attribute
classifier (metrics/attributes.py) reads every attribute back:

    per-attribute accuracy   1/N sum_i 1[ judge_a(G(z_i, prompt_i)) = a_i ]          for each asked a
    balanced accuracy        the mean over values v of the accuracy on prompts asking a = v (chance
                             = 1 / values, also for a tag that is "yes" 30% of the time)
    exact match              1/N sum_i prod_a 1[ judge_a(G(z_i, prompt_i)) = a_i ]
    judge ceiling            the same two on the real test images of those prompts: the judge's own
                             errors bound what any generator can score
    FID (attribute features) samples of the training-caption prompts vs their real images

Within-prompt diversity catches a generator that ignores z: P prompts x S samples each,
    spread ratio = mean pairwise feature distance of one prompt's samples
                   / the same for real test images with the same asked attributes   (about 1 when
                   z is used as the data varies; 0 when every sample of a prompt is the same)
    free attributes: for each attribute no prompt states (shapes: background), the entropy of its
                   judged values within a prompt, / log(values) (1: all values equally often; 0: one)
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gankit.data.base import PromptSet, TensorData
from gankit.data.words import decode_ids
from gankit.metrics.attributes import AttributeJudge
from gankit.metrics.fid import fid_from_features

FID_MIN_N = 50  # as the fid metric: below it the estimate is mostly small-sample bias
DIVERSITY_PROMPTS = 64
DIVERSITY_SAMPLES = 8
MIN_COMPARED = 8  # prompts with real look-alikes needed for a spread ratio worth printing


def prompt_text(test: TensorData, field: str, row: int) -> str:
    """The prompt of test row `row` as written (or its words as the encoder reads them)."""
    if field in test.texts:
        return str(test.texts[field][row].reshape(-1)[0])
    value = test.fields[field][row]
    spec = test.specs[field]
    if spec.kind == "tokens":
        return decode_ids(value.reshape(-1, value.shape[-1])[0].tolist(), spec.names)
    if spec.kind == "multi_hot":
        return ", ".join(n for n, on in zip(spec.names, value.tolist()) if on)
    return spec.names[int(value)] if spec.names else str(int(value))


def condition_rows(test: TensorData, field: str, rows: Tensor) -> Tensor:
    """The condition tensor of those rows as a generator takes it: the first caption of token fields."""
    c = test.take(rows, (field,))[field]
    several = {"tokens": 3, "embedding": 3}.get(test.specs[field].kind)  # (N, K, ...): K captions each
    return c[:, 0] if several is not None and c.ndim == several else c


def draw(game: Any, players: Any, cond_key: str, c: Tensor, seed: int, chunk: int = 500,
         panel: str = "fake") -> Tensor:
    """One sample per condition row, z from a seeded generator (the same seed, the same samples)."""
    return draw_panels(game, players, cond_key, c, seed, chunk)[panel]


def draw_panels(game: Any, players: Any, cond_key: str, c: Tensor, seed: int, chunk: int = 500) -> dict[str, Tensor]:
    """Every image panel the game draws for those conditions (fake; StackGAN adds stage1)."""
    from gankit.train.sampling import generate

    g = torch.Generator().manual_seed(seed)
    source = {f: c for f in game.source_fields} or None
    inputs = game.fixed_inputs(len(c), g, source=source)
    inputs[cond_key] = c
    parts = [generate(game, players, {k: v[i : i + chunk] for k, v in inputs.items()}) for i in range(0, len(c), chunk)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0] if parts[0][k].ndim == 4}


def resample(x: Tensor, side: int) -> Tensor:
    """Images down to `side` px (area averaging) and back up (bilinear), as StackGAN's stage1 panel is."""
    import torch.nn.functional as F

    low = F.interpolate(x, size=(side, side), mode="area")
    return F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False).clamp(-1, 1)


def agreement(pred: dict[str, Tensor], truth: dict[str, Tensor], asked: tuple[str, ...]) -> dict[str, Any]:
    """Per-attribute accuracy and exact match (every asked attribute right) of predictions."""
    right = {}
    for a in asked:
        p, t = pred[a].cpu(), truth[a].cpu()
        right[a] = (p == (t > 0.5)).all(1) if p.dtype == torch.bool else (p == t)
        if p.dtype == torch.bool:  # tags: accuracy per tag, averaged
            right[a + ":per_tag"] = (p == (t > 0.5)).double().mean(0)
    exact = torch.stack([right[a] for a in asked]).all(0)
    per = {a: float(right[a].double().mean()) for a in asked if truth[a].ndim == 1}
    balanced = {}
    for a in asked:
        if truth[a].ndim == 2:
            per[a] = float(right[a + ":per_tag"].mean())
        else:  # the mean recall over the values asked for: chance is 1/values even when values are unequal
            t = truth[a].cpu()
            balanced[a] = float(torch.stack([right[a][t == v].double().mean() for v in torch.unique(t)]).mean())
    return {"exact_match": float(exact.double().mean()), "per_attribute": per,
            "per_attribute_balanced": balanced, "mean_per_attribute": sum(per.values()) / len(per),
            "mean_per_attribute_balanced": sum(balanced.values()) / len(balanced) if balanced else None}


def _pairwise_mean(f: Tensor) -> Tensor:
    """(G, S, d) groups of S features -> (G,) mean distance between distinct members."""
    d = torch.cdist(f, f)
    s = f.shape[1]
    return d.sum((1, 2)) / (s * (s - 1))


def diversity(game: Any, players: Any, cond_key: str, judge: AttributeJudge, test: TensorData,
              pset: PromptSet, seed: int) -> dict[str, Any]:
    """Spread of samples within a prompt against real images sharing the asked attributes, on the
    same prompts: those (of the set's first rows) whose attributes at least two test images share."""
    truth = torch.stack([test.fields[a].reshape(len(test), -1).long() for a in pset.asked], 1).reshape(len(test), -1)
    _, group = torch.unique(truth, dim=0, return_inverse=True)
    sizes = torch.bincount(group)
    seen: set[int] = set()
    chosen: list[int] = []
    for r in pset.rows[sizes[group[pset.rows]] >= 2].tolist():  # one prompt per combination
        if int(group[r]) not in seen and len(chosen) < DIVERSITY_PROMPTS:
            seen.add(int(group[r]))
            chosen.append(r)
    compared = torch.tensor(chosen, dtype=torch.long)
    rows = compared if len(compared) >= MIN_COMPARED else pset.rows[:DIVERSITY_PROMPTS]
    c = condition_rows(test, pset.field, rows).repeat_interleave(DIVERSITY_SAMPLES, 0)
    fake = draw(game, players, cond_key, c, seed + 7)
    f_fake = judge.net.features(fake).view(len(rows), DIVERSITY_SAMPLES, -1)
    out: dict[str, Any] = {"prompts": len(rows), "samples_per_prompt": DIVERSITY_SAMPLES,
                           "fake_spread": float(_pairwise_mean(f_fake).mean())}
    if len(compared) >= MIN_COMPARED:
        real = [_pairwise_mean(judge.net.features(test.take((group == group[r]).nonzero().flatten()[:DIVERSITY_SAMPLES],
                                                            ("x",))["x"])[None])[0] for r in rows.tolist()]
        out["real_spread"] = float(torch.stack(real).mean())
        out["spread_ratio"] = out["fake_spread"] / out["real_spread"]
    else:
        out["spread_ratio"] = None
        out["spread_ratio_why"] = (f"only {len(compared)} prompts have attributes that two real test images share "
                                   f"(need {MIN_COMPARED}); the free-attribute entropy still shows whether z is used")
    free = [a for a, kind in judge.kinds.items() if a not in pset.asked and kind == "label"]
    pred = judge.predict(fake)
    for a in free:
        k = len(judge.names[a])
        counts = torch.nn.functional.one_hot(pred[a].view(len(rows), -1), k).sum(1).double()
        p = counts / counts.sum(1, keepdim=True)
        entropy = -(p * p.clamp_min(1e-12).log()).sum(1) / math.log(k)
        out[f"free:{a}:entropy"] = float(entropy.mean())
    return out


def asked_scores(game: Any, players: Any, test: TensorData, sets: list[PromptSet], judge: AttributeJudge,
                 n: int, seed: int) -> tuple[dict[str, Any], list[tuple[str, Tensor]]]:
    """Scores of every prompt set (and the picture rows: (prompt, 8 samples) for 2 prompts per set)."""
    cond_key = next(iter(game.conditions))
    result: dict[str, Any] = {"judge": {"name": judge.net.name, "weights_sha256": judge.net.sha256,
                                        "test_accuracy_per_attribute": judge.test_accuracy,
                                        "note": "scores are bounded by the judge's accuracy on real images "
                                                "(judge_ceiling)"},
                              "sets": {}}
    picture: list[tuple[str, Tensor]] = []
    for pset in sets:
        rows = pset.rows[:n]
        if len(rows) == 0:
            continue
        c = condition_rows(test, pset.field, rows)
        panels = draw_panels(game, players, cond_key, c, seed)
        fake = panels["fake"]
        truth = {a: test.fields[a][rows] for a in pset.asked}
        real = test.take(rows, ("x",))["x"]
        entry = {"n": len(rows), "field": pset.field, **agreement(judge.predict(fake), truth, pset.asked),
                 "judge_ceiling": agreement(judge.predict(real), truth, pset.asked)}
        resampled = None
        if "stage1" in panels:  # StackGAN: stage I's pictures (upsampled) for the same z and prompts
            entry["stage1"] = agreement(judge.predict(panels["stage1"]), truth, pset.asked)
            # The same trip for real images (down to stage I's side, up again): how much the judge loses
            # to the blur of upsampling alone, so stage I is not blamed for it.
            resampled = resample(real, game.stage1_side)
            entry["stage1"]["judge_ceiling_resampled"] = agreement(judge.predict(resampled), truth, pset.asked)
        if pset.name == sets[0].name:
            real_f = judge.net.features(real)
            if len(rows) < FID_MIN_N:
                entry["fid_attribute_features"] = None
                entry["fid_attribute_features_why"] = f"{len(rows)} prompts; FID needs at least {FID_MIN_N}"
            else:
                entry["fid_attribute_features"] = fid_from_features(judge.net.features(fake), real_f)
                if resampled is not None:
                    entry["stage1"]["fid_attribute_features"] = fid_from_features(
                        judge.net.features(panels["stage1"]), real_f)
                    entry["stage1"]["fid_resampled_real"] = fid_from_features(judge.net.features(resampled), real_f)
            result["diversity"] = diversity(game, players, cond_key, judge, test, pset, seed)
        result["sets"][pset.name] = entry
        for row in rows[:2].tolist():
            one = condition_rows(test, pset.field, torch.tensor([row])).repeat_interleave(8, 0)
            shown = draw_panels(game, players, cond_key, one, seed + 11)
            for name, images in shown.items():  # StackGAN: a stage I row, then stage II for the same z
                tag = "" if len(shown) == 1 else f"{'stage I' if name == 'stage1' else 'stage II'}: "
                picture.append((f"[{pset.name}] {tag}{prompt_text(test, pset.field, row)}", images))
    return result, picture
