"""`gankit evaluate`: score a run directory, or any images against a known dataset, with provenance.

    evaluate_run(Path("runs/fashion-dcgan"), Request())          -> RUN/scores.json, RUN/report.html
    evaluate_fake("samples/", "fashion-mnist:test", Request())   -> scores of another toolkit's images

A run is scored with its sampling players (EMA copies where kept; train/restore.py) on z drawn from
a seeded generator, against the test split of the data field its game names as the reference
(`game.reference_field`: x, or the target domain of a translation) when there is one; toy 2D runs
get the mixture scores (modes, high quality, reverse KL) and W2 to fresh data samples. A run's
scores go to the "evaluate" section of RUN/scores.json; training's own section is kept.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gankit.errors import UserError
from gankit.evaluate.sources import Reference, load_fake, parse_real, reference, subset
from gankit.files import atomic_write
from gankit.metrics import provenance
from gankit.registry import PROMPT_SETS
from gankit.metrics.base import (EvalContext, Kind, Metric, check_sample_size, describe_need, evaluable,
                                 get_metric)
from gankit.metrics.attributes import attribute_fields, attribute_judge
from gankit.metrics.features import FeatureNet, domain_classifier

DEFAULT_N = 10_000  # images: the size of published FID evaluations (and of Fashion-MNIST's test split)
IMAGE_DEFAULTS = ("fid", "kid", "prdc", "classifier_score", "class_coverage", "conditional_accuracy", "class_spread",
                  "stacked_modes")


@dataclass
class Request:
    """What the user asked for: metric names (None = the defaults), sample count, seed, feature net."""

    metrics: list[str] | None = None
    n: int | None = None
    seed: int = 0
    features: str = "domain"  # domain | inception
    inception_weights: str | None = None
    download_inception: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # kid_subsets, fid_bootstrap ... (tests, benchmarks)

    def check(self) -> None:
        if self.n is not None and self.n < 1:
            raise UserError(f"--n must be >= 1, got {self.n}")
        if self.features not in ("domain", "inception"):
            raise UserError(f"--features must be domain or inception, got {self.features!r}")
        for name in self.metrics or []:
            get_metric(name)  # unknown names fail here, before any work


def choose_metrics(req: Request, kind: Kind, have: set[str]) -> list[Metric]:
    """The requested metrics (checked against the samples and what the evaluation has, `have`: the
    needs it meets, see metrics.base.NEEDS), or the defaults that it can run."""
    if req.metrics is None:
        names = (*(IMAGE_DEFAULTS if kind == "images" else ("modes", "w2")), "target_l1")
        return [m for m in map(get_metric, names) if not m.missing(have)]
    chosen = [get_metric(n) for n in req.metrics]
    for m in chosen:
        if m.kind not in (kind, "any"):
            raise UserError(f"metric {m.name!r} scores {m.kind}, but these samples are {kind}; "
                            f"for {kind} use: {', '.join(evaluable(kind))}")
        missing = m.missing(have)
        if missing:
            raise UserError(f"metric {m.name!r} needs {describe_need(missing[0])}")
    return chosen


def default_n(req: Request, kind: Kind, dataset: str, points_n: int = 0) -> int:
    """Samples to score when --n is not given: DEFAULT_N images (points: eval.n_samples), or more when a
    metric that will run has a larger published protocol (stacked_modes: PacGAN's 26,000)."""
    names = req.metrics if req.metrics is not None else (IMAGE_DEFAULTS if kind == "images" else ())
    applies = [m for m in map(get_metric, names)
               if not any(need.startswith("dataset:") for need in m.missing({f"dataset:{dataset}"}))]
    return max([DEFAULT_N if kind == "images" else points_n] + [m.n_samples for m in applies])


def feature_nets(req: Request, ref: Reference, labelled: bool) -> tuple[FeatureNet | None, FeatureNet | None]:
    """(feature net for FID/KID/PRDC, domain classifier for logits). Built only once input is valid."""
    net = None
    if req.features == "inception":  # first: missing weights are refused before a classifier is trained
        from gankit.metrics.inception import inception

        net = inception(req.inception_weights, req.download_inception)
    if net is None and not labelled and attribute_fields(ref.data):
        # Attributes but no classes (shapes, characters): FID and friends in the attribute judge's features.
        return attribute_judge(ref.data_cfg).net, None
    # Unlabelled data with domain features: domain_classifier raises the one line saying why.
    classifier = domain_classifier(ref.data_cfg) if labelled or net is None else None
    return (net or classifier), classifier


def score(ctx: EvalContext, metrics: list[Metric]) -> dict[str, Any]:
    """Run the metrics on one context: {key: value, ..., "provenance": {key: record}}."""
    values: dict[str, Any] = {}
    prov: dict[str, Any] = {}
    for metric in metrics:
        for s in metric.evaluate(ctx):
            values[s.key] = s.value
            prov[s.key] = provenance.record(metric.name, s, ctx)
    nets = {n.name: {"weights_sha256": n.sha256, **n.info} for n in (ctx.feature_net, ctx.classifier) if n}
    return {**values, "provenance": prov, "feature_nets": nets}


def floor_fid(ctx: EvalContext, ref: Reference, n: int, seed: int) -> dict[str, Any] | None:
    """FID of n training images against the reference: what a perfect generator would score."""
    from gankit.metrics.features import load_split
    from gankit.metrics.fid import fid_from_features

    if ctx.feature_net is None or not ref.name.endswith(":test"):
        return None
    train = load_split(ref.data_cfg, "train")
    if train is None:
        return None
    x, _ = subset(train, n, torch.Generator().manual_seed(seed + 1))
    value = fid_from_features(ctx.feature_net.features(x), ctx.features("real"))
    return {"fid": value, "n_train": len(x), "what": f"FID of {len(x)} {ref.name[:-5]}:train images vs the reference"}


def image_context(req: Request, fake: torch.Tensor, conditions: dict[str, torch.Tensor], ref: Reference,
                  n: int, pairs: torch.Tensor | None = None) -> tuple[EvalContext, list[Metric]]:
    """The metrics to run and their context: n reference images (seeded subset) and the feature nets."""
    labelled = ref.data.y is not None and ref.data.num_classes >= 2
    have = ({"reference", "feature_net", f"dataset:{ref.data_cfg.name}"} | ({"classifier"} if labelled else set())
            | {f"condition:{k}" for k in conditions} | ({"pairs"} if pairs is not None else set()))
    metrics = choose_metrics(req, "images", have)
    real, real_y = subset(ref.data, n, torch.Generator().manual_seed(req.seed + 1))
    check_sample_size(metrics, len(fake), len(real))  # before a classifier is trained for nothing
    net, classifier = feature_nets(req, ref, labelled)
    ctx = EvalContext(fake=fake, real=real, real_name=ref.name, seed=req.seed, feature_net=net,
                      classifier=classifier, conditions=conditions, pairs=pairs, real_labels=real_y,
                      num_classes=ref.data.num_classes, options=req.options, data_cfg=ref.data_cfg)
    return ctx, metrics


def evaluate_run(run_dir: Path, req: Request, split: str | None = None, out: Path | None = None) -> dict[str, Any]:
    """Score a run's sampling players; writes the "evaluate" section of scores.json (or `out`) and report.html."""
    from gankit.data.toy import sample_mixture
    from gankit.train.loop import load_data
    from gankit.train.restore import restore, source_batch
    from gankit.train.rundir import METRICS_FILE, read_rows, write_scores
    from gankit.train.sampling import generate

    req.check()
    _check_out(out)
    run = restore(run_dir)
    if getattr(run.game, "directions", None):  # pix2pix, CycleGAN: scored against the ground truth
        from gankit.evaluate.translation_run import evaluate_translation

        return evaluate_translation(run_dir, run, req.n, req.seed, out)
    cfg, game, step = run.cfg, run.game, run.step
    kind: Kind = "points" if run.spec["x"].kind == "points" else "images"
    n = req.n or default_n(req, kind, cfg.data.name, cfg.eval.n_samples)
    source = source_batch(cfg, game, n, split=split or "test")
    inputs = game.fixed_inputs(n, torch.Generator().manual_seed(req.seed), source=source)
    conditions = {k: inputs[k] for k in game.conditions if k in inputs}
    if kind == "points":
        data = load_data(cfg)
        mix = data.mixture
        panels = generate(game, run.players, inputs)
        pairs = {"pairs"} if "target" in panels else set()
        metrics = choose_metrics(req, kind, {"reference"} | ({"mixture"} if mix is not None else set()) | pairs)
        fresh = (lambda k, g: sample_mixture(mix, k, g)) if mix is not None else None
        # n fresh data points (the metrics draw their own with the seed; these are the picture's and the count)
        real = (fresh(n, torch.Generator().manual_seed(req.seed + 1)) if fresh is not None
                else data.column(game.reference_field))
        name = f"{cfg.data.name}{'' if game.reference_field == 'x' else ':' + game.reference_field}"
        ctx = EvalContext(fake=panels["fake"], real=real, real_name=f"{name} ({'fresh samples' if mix else 'pool'})",
                          seed=req.seed, mixture=mix, fresh_real=fresh, conditions=conditions,
                          pairs=panels.get("target"), options=req.options)
        ref_note = data.source
    else:
        ref = reference(cfg.data, split, game.reference_field)
        # needs before the heavy work: a refused request trains no classifier
        labelled = {"classifier"} if ref.data.y is not None else set()
        panels = generate(game, run.players, inputs)
        pairs = {"pairs"} if "target" in panels else set()
        choose_metrics(req, kind, {"reference", "feature_net", f"dataset:{cfg.data.name}"} | labelled | pairs
                       | {f"condition:{k}" for k in conditions})
        ctx, metrics = image_context(req, panels["fake"], conditions, ref, n, pairs=panels.get("target"))
        ref_note = ref.note or ref.data.source
    scores = score(ctx, metrics)
    scores["samples"] = {"source": f"run {run_dir}", "step": step, "sampled_with": run.sampled_with, "n": n,
                         "seed": req.seed, "z": f"game.fixed_inputs({n}, torch.Generator().manual_seed({req.seed}))"}
    scores["reference"] = {"data": ctx.real_name, "n": len(ctx.real), "source": ref_note}
    if kind == "images" and "fid" in scores:
        scores["floor"] = floor_fid(ctx, ref, len(ctx.real), req.seed)
    picture = None
    if kind == "images" and game.conditions and cfg.data.name in PROMPT_SETS:
        asked, picture = asked_section(cfg, game, run.players, n, req.seed)
        if asked is not None:
            scores["asked"] = asked
    extra_html = ""
    if hasattr(game, "reconstruct"):  # a game with an encoder (ALI, BiGAN): does E invert G?
        from gankit.evaluate.inversion import inversion_section, print_inversion

        scores["inversion"], extra_html = inversion_section(run, n, req.seed)
        print_inversion(scores["inversion"])
    if out is not None:
        target = atomic_write(out, provenance.dumps(scores).encode())
    else:
        target = write_scores(run_dir, "evaluate", json.loads(provenance.dumps(scores)))
    from gankit.evaluate.report import write_report

    page = out.with_suffix(".html") if out is not None else run_dir / "report.html"  # --out: beside it, as for --fake
    report = write_report(page, scores, ctx, title=f"{run_dir.name} (step {step})",
                          rows=read_rows(run_dir / METRICS_FILE), asked=picture, extra_html=extra_html)
    print_scores(scores, [target, report])
    return scores


def asked_section(cfg: Any, game: Any, players: Any, n: int, seed: int) -> tuple[dict[str, Any], Any]:
    """"Did it draw what was asked?" on the dataset's prompt sets (evaluate/asked.py), at most n per set."""
    from gankit.evaluate.asked import asked_scores
    from gankit.metrics.features import load_split

    test = load_split(cfg.data, "test")
    if test is None:
        raise UserError(f"dataset {cfg.data.name!r} has no test split with prompts")
    asked_with = next(iter(game.conditions.values()))
    sets = [p for p in PROMPT_SETS.get(cfg.data.name)(test) if _fits(test.specs[p.field], asked_with)]
    if not sets:  # e.g. a shapes run conditioned on its shape label: the prompts are captions it cannot read
        return None, None
    return asked_scores(game, players, test, sets, attribute_judge(cfg.data), n, seed)


def _fits(field: Any, condition: Any) -> bool:
    """Whether prompts stored in `field` are what a generator conditioned on `condition` reads."""
    if field.kind != condition.kind:
        return False
    if field.kind == "embedding":
        return field.shape[-1] == condition.dim and field.names == condition.names
    return tuple(field.names) == tuple(condition.names)


def evaluate_fake(fake_arg: str, real_spec: str, req: Request, out: Path | None = None) -> dict[str, Any]:
    """Score images from a folder or .npy against a dataset split; writes `out` (+ .html) if given."""
    req.check()
    _check_out(out)
    data_cfg, split = parse_real(real_spec)
    ref = reference(data_cfg, split)
    if ref.data.kind != "images":
        raise UserError(f"--real {real_spec} is not an image dataset; score 2D samples through their run directory")
    n = req.n or default_n(req, "images", data_cfg.name)
    fake, asked, described = load_fake(fake_arg, ref.data, n)
    ctx, metrics = image_context(req, fake, {"label": asked} if asked is not None else {}, ref, n)
    scores = score(ctx, metrics)
    scores["samples"] = {"source": described, "n": len(fake)}
    scores["reference"] = {"data": ref.name, "n": len(ctx.real), "source": ref.note or ref.data.source}
    if "fid" in scores:
        scores["floor"] = floor_fid(ctx, ref, len(ctx.real), req.seed)
    written: list[Path] = []
    if out is not None:
        from gankit.evaluate.report import write_report

        written = [atomic_write(out, provenance.dumps(scores).encode()),
                   write_report(out.with_suffix(".html"), scores, ctx, title=described)]
    print_scores(scores, written)
    return scores


def _check_out(out: Path | None) -> None:
    if out is None:
        return
    if out.suffix.lower() != ".json":
        raise UserError(f"--out must be a .json file, got {out}")
    for path in (out, out.with_suffix(".html")):  # the scores and their report: neither may be replaced
        if os.path.lexists(path):
            raise UserError(f"{path} exists; choose another --out")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: directory {out.parent} does not exist")


def _fmt(v: Any) -> str:
    return "n/a" if v is None else (f"{v:.5g}" if isinstance(v, float) else str(v))


def print_scores(scores: dict[str, Any], written: list[Path]) -> None:
    """One line per score with its spread, then the provenance they share."""
    prov = scores["provenance"]
    for key, rec in prov.items():
        if key.endswith("_std"):  # shown as the spread of its mean
            continue
        spread = f"  ci95 [{_fmt(rec['ci95'][0])}, {_fmt(rec['ci95'][1])}]" if rec.get("ci95") else (
            f"  ± {_fmt(rec['std'])}" if rec.get("std") is not None and not key.endswith("_std") else "")
        print(f"{key:<22}{_fmt(provenance.clean(scores[key])):>12}{spread}")
    if scores.get("floor"):
        print(f"{'floor fid':<22}{_fmt(scores['floor']['fid']):>12}  ({scores['floor']['what']})")
    for name, info in scores["feature_nets"].items():
        acc = (f", test accuracy {100 * info['test_accuracy']:.2f}% on {info['test_split']}"
               if "test_accuracy" in info else "")
        print(f"feature net: {name} (weights sha256 {info['weights_sha256'][:16]}{acc})")
    first = next(iter(prov.values()), None)
    if first:
        s = scores["samples"]
        origin = f"step {s['step']}, {s['sampled_with']}, seed {s['seed']}" if "step" in s else s["source"]
        print(f"compared: {first['n_fake']} fake ({origin}) vs {first['n_real']} real {first['real']}; "
              f"gankit {first['gankit_version']}")
    for path in written:
        print(f"wrote {path}")
    sys.stdout.flush()
