"""Cheap scores every k training steps, for the curves in metrics.jsonl and the report.

    row.update(evaluate_during_training(trainer.game, trainer.sampling_players(), trainer.data,
                                        trainer.cfg, trainer.step))

Images: FID and classifier score of 1,000 samples (the same z at every call, so the curve shows G
changing, not the noise) against 1,000 images of the reference split, in the cached domain
classifier's feature space; the keys are eval_fid and eval_classifier_score. They are not
comparable with `gankit evaluate`'s 10,000-sample FID (FID is biased upwards at small n); they
are for the shape of the curve. Toy mixtures: eval_modes, eval_high_quality, eval_reverse_kl and
eval_sliced_w2 on eval.n_samples points.

The first call for a dataset trains the domain classifier if it is not cached (Fashion-MNIST:
about a minute); later calls reuse it, the reference features and the z. Nothing here draws from
torch's global RNG, which a checkpoint stores: evaluating does not change the training.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.base import Mixture, TensorData
from gankit.errors import UserError
from gankit.games.base import Game
from gankit.metrics.classifier_score import classifier_score
from gankit.metrics.features import FeatureNet, domain_classifier
from gankit.metrics.fid import fid_from_features
from gankit.metrics.modes import score_mixture
from gankit.metrics.wasserstein import sliced_w2
from gankit.train.sampling import generate

N_IMAGES = 1000
_SEED_OFFSET = 5  # z = fixed_inputs(n, Generator().manual_seed(cfg.seed + 5)): apart from the grids' seed + 2
_REFERENCE: dict[tuple, tuple[FeatureNet, Tensor]] = {}
_WARNED: set[str] = set()


def _reference(cfg: Config) -> tuple[FeatureNet, Tensor] | None:
    """(domain classifier, features of N_IMAGES reference images), built once per process."""
    from gankit.evaluate.sources import reference, subset

    key = dataclasses.astuple(cfg.data)
    if key not in _REFERENCE:
        try:
            net = domain_classifier(cfg.data)
        except UserError as exc:  # unlabelled images: no classifier, so no image scores during training
            if cfg.data.name not in _WARNED:
                _WARNED.add(cfg.data.name)
                warnings.warn(f"no evaluation during training: {exc}", stacklevel=3)
            return None
        ref = reference(cfg.data, None)
        x, _ = subset(ref.data, N_IMAGES, torch.Generator().manual_seed(cfg.seed + 1))
        _REFERENCE[key] = (net, net.features(x))
    return _REFERENCE[key]


def mixture_scores(game: Game, players: Mapping[str, nn.Module], mixture: Mixture, n: int,
                   generator: torch.Generator) -> dict[str, Any]:
    """The VEEGAN/PacGAN mixture scores (metrics/modes.py) of n samples drawn with z from `generator`:
    the one place where training, its end-of-run scores and the eval_* curves score a toy generator.
    The samples are returned too, under "samples" (popped by callers that keep them)."""
    fake = generate(game, players, game.fixed_inputs(n, generator))["fake"]
    return {**score_mixture(fake, mixture), "samples": fake}


def evaluate_during_training(game: Game, players: Mapping[str, nn.Module], data: TensorData, cfg: Config,
                             step: int) -> dict[str, float]:
    """Scores of the current players (pass trainer.sampling_players(): the EMA generator) at `step`.

    Returns {"eval_fid", "eval_classifier_score"} for labelled images, {"eval_modes",
    "eval_high_quality", "eval_reverse_kl", "eval_sliced_w2"} for Gaussian mixtures, {} otherwise.
    `step` is accepted so the loop can pass its state uniformly; the scores do not depend on it.
    """
    del step
    if game.source_fields:
        return {}  # its inputs come from data (a translation): its own issue adds its curves
    generator = torch.Generator().manual_seed(cfg.seed + _SEED_OFFSET)
    if data.kind == "points":
        if data.mixture is None:
            return {}
        from gankit.data.toy import sample_mixture

        modes = mixture_scores(game, players, data.mixture, cfg.eval.n_samples, generator)
        fake = modes.pop("samples")
        real = sample_mixture(data.mixture, len(fake), torch.Generator().manual_seed(cfg.seed + 7))
        return {"eval_modes": modes["modes"], "eval_high_quality": round(modes["high_quality"], 5),
                "eval_reverse_kl": round(modes["reverse_kl"], 5),
                "eval_sliced_w2": round(sliced_w2(fake, real, generator=torch.Generator().manual_seed(0)), 6)}
    ref = _reference(cfg)
    if ref is None:
        return {}
    net, real_features = ref
    fake = generate(game, players, game.fixed_inputs(N_IMAGES, generator))["fake"]
    if not torch.isfinite(fake).all():
        return {"eval_fid": float("nan"), "eval_classifier_score": float("nan")}
    fid = fid_from_features(net.features(fake.contiguous()), real_features)
    cs, _ = classifier_score(net.logits(fake.contiguous()))
    return {"eval_fid": round(fid, 5), "eval_classifier_score": round(cs, 5)}
