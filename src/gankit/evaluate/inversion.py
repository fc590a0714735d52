"""Scores of a run with an encoder (ALI, BiGAN): does E invert G, and what do E's features know?

    section, html = inversion_section(run, n=10_000, seed=0)   -> scores.json "inversion", a report part

Toy 2D data: n fresh data points x -> E -> G; the distance |G(E(x)) - x| (mean, median) and the share
of reconstructions within 3 sigma of their input (the mixture's own "high quality" radius).
Images, on the first n test images (the test split; every 10th training image when there is none):
    recon_mse        mean squared error per pixel of G(E(x)) against x, on [0, 1] pixels
    class_agreement  the domain classifier gives x and G(E(x)) the same class (and each one's accuracy)
    probe_E / nn_E   a linear probe and 1-NN on E(x) (E's mean): fitted on the whole training split,
                     scored on the n test images (metrics/probe.py)
    probe_pixels     the same linear probe on raw pixels: the baseline a representation must beat
Pictures: input | reconstruction pairs, and latent interpolation strips x_a | G(z_0) ... G(z_7) | x_b
between test images of different classes, z_t = (1 - t) E(x_a) + t E(x_b).
"""
from __future__ import annotations

import html
import math
import time
from typing import Any, Callable

import torch
from torch import Tensor

from gankit.evaluate.report import image_html
from gankit.train.sampling import evaluating
from gankit.viz.grids import make_grid, png_bytes, upscale

CHUNK = 1000
# A probe of 1000 classes (stacked-fashion's modes) on 2,352 raw pixels is hours of L-BFGS; there the
# mode count (stacked_modes) says what E's pairing with G does, so the probes run for <= 100 classes.
MAX_PROBE_CLASSES = 100
STEPS = 8  # interpolation points between two encoded images, both ends included
STRIPS = 8
PAIRS = 32


def _batched(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    return torch.cat([fn(x[i : i + CHUNK].contiguous()).float() for i in range(0, len(x), CHUNK)])


def inversion_section(run: Any, n: int, seed: int) -> tuple[dict[str, Any], str]:
    """The "inversion" section of scores.json and its part of report.html."""
    with evaluating(run.players):
        if run.spec["x"].kind == "points":
            return _toy(run, n, seed)
        return _images(run, n)


def _toy(run: Any, n: int, seed: int) -> tuple[dict[str, Any], str]:
    from gankit.data.toy import sample_mixture
    from gankit.train.loop import load_data

    data = load_data(run.cfg)
    mix = data.mixture
    x = sample_mixture(mix, n, torch.Generator().manual_seed(seed + 2)) if mix is not None else data.column("x")[:n]
    section: dict[str, Any] = {**point_reconstruction(run.game, run.players, x, mix.sigma if mix else None),
                               "n": len(x),
                               "data": "fresh mixture samples" if mix is not None else f"{run.cfg.data.name} points"}
    if mix is not None:
        section["sigma"] = mix.sigma
    section["what"] = "x -> E (its mean) -> G; distance |G(E(x)) - x| in data units"
    return section, _table(section)


def point_reconstruction(game: Any, players: Any, x: Tensor, sigma: float | None) -> dict[str, float]:
    """recon_l2 (mean distance |G(E(x)) - x|), its median and, with the mixture's sigma, the share within
    3 sigma of the input. Call with the players in eval mode, without gradients."""
    dist = (_batched(lambda v: game.reconstruct(players, v), x) - x).norm(dim=1)
    out = {"recon_l2": float(dist.mean()), "recon_l2_median": float(dist.median())}
    if sigma is not None:
        out["recon_within_3sigma"] = float((dist < 3 * sigma).float().mean())
    return out


def _images(run: Any, n: int) -> tuple[dict[str, Any], str]:
    from gankit.metrics.features import domain_classifier, labelled_splits, load_split
    from gankit.metrics.probe import linear_probe, nearest_neighbour

    cfg, game, players = run.cfg, run.game, run.players
    whole = load_split(cfg.data, "train")
    labelled = whole is not None and whole.y is not None and whole.num_classes >= 2
    if labelled:
        splits = labelled_splits(cfg.data)
        train, test, test_name = splits.train, splits.test, splits.test_name
    else:  # no labels: reconstructions only, on the test split when there is one
        held = load_split(cfg.data, "test")
        train = test = held if held is not None else whole
        test_name = f"{cfg.data.name}:{'test' if held is not None else 'train'}"
    x = test.x[:n]
    recon = _batched(lambda v: game.reconstruct(players, v), x)
    section: dict[str, Any] = {"data": test_name, "n": len(x),
                               "recon_mse": float((((recon - x) / 2) ** 2).mean())}
    if labelled:
        y = test.y[:n]
        classifier = domain_classifier(cfg.data)
        px, pr = classifier.logits(x).argmax(1), classifier.logits(recon).argmax(1)
        section.update(class_agreement=float((px == pr).float().mean()),
                       classifier_accuracy_x=float((px == y).float().mean()),
                       classifier_accuracy_recon=float((pr == y).float().mean()),
                       classifier=f"{classifier.name} (weights sha256 {classifier.sha256[:16]})")
    if labelled and train.num_classes <= MAX_PROBE_CLASSES:
        start = time.monotonic()
        f_train = _batched(lambda v: game.infer(players, v), train.x)
        f_test = _batched(lambda v: game.infer(players, v), x)
        section.update(probe_E=linear_probe(f_train, train.y, f_test, y),
                       nn_E=nearest_neighbour(f_train, train.y, f_test, y),
                       probe_pixels=linear_probe(train.x.flatten(1), train.y, x.flatten(1), y),
                       probe_train=f"{cfg.data.name}:train ({len(train)} images), E's mean z ({f_train.shape[1]}-d)",
                       probe_seconds=round(time.monotonic() - start, 1))
    section["what"] = ("x -> E (its mean) -> G on held-out images; recon_mse per pixel on [0, 1]; class_agreement: "
                       "the domain classifier's class of x and of G(E(x)) agree; probe_E / nn_E: logistic regression "
                       "and 1-NN on E(x) fitted on the training split; probe_pixels: the same probe on raw pixels")
    pictures = _pictures(game, players, x, recon, test.y[:n] if labelled else None)
    return section, _table(section) + pictures


def interpolation_strips(game: Any, players: Any, a: Tensor, b: Tensor, steps: int = STEPS) -> Tensor:
    """(len(a) * (steps + 2), C, H, W): per pair, a | G(z_0) ... G(z_{steps-1}) | b along z_a -> z_b."""
    za, zb = game.infer(players, a), game.infer(players, b)
    t = torch.linspace(0, 1, steps)
    rows = []
    for i in range(len(a)):
        z = (1 - t)[:, None] * za[i] + t[:, None] * zb[i]
        rows += [a[i : i + 1], game.generate(players, {"z": z})["fake"].float(), b[i : i + 1]]
    return torch.cat(rows)


def _strip_pairs(y: Tensor | None, count: int) -> tuple[list[int], list[int]]:
    """Indices of `count` (a, b) test pairs: of different classes when labels exist, else consecutive."""
    if y is None:
        return list(range(0, 2 * count, 2)), list(range(1, 2 * count, 2))
    firsts = {int(c): int((y == c).nonzero()[0]) for c in y.unique()}
    classes = sorted(firsts)
    a = [firsts[classes[k % len(classes)]] for k in range(count)]
    b = [firsts[classes[(k + len(classes) // 2) % len(classes)]] for k in range(count)]
    return a, b


def _pictures(game: Any, players: Any, x: Tensor, recon: Tensor, y: Tensor | None) -> str:
    k = min(PAIRS, len(x))
    pairs = torch.stack([x[:k], recon[:k]], dim=1).flatten(0, 1)  # x0, r0, x1, r1, ...
    a, b = _strip_pairs(y, min(STRIPS, len(x) // 2))
    strips = interpolation_strips(game, players, x[a], x[b])
    return (f'<div class="pics"><figure>{image_html(_png(pairs, 8), "reconstructions")}<figcaption>input | '
            "G(E(input)), four pairs a row</figcaption></figure>"
            f'<figure>{image_html(_png(strips, STEPS + 2), "interpolations")}<figcaption>x_a | G(z) along the '
            "line from E(x_a) to E(x_b) | x_b</figcaption></figure></div>")


def _png(images: Tensor, nrow: int) -> bytes:
    grid = make_grid(images, nrow=nrow)
    return png_bytes(upscale(grid, max(1, math.ceil(480 / max(grid.shape[:2])))))


def _table(section: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td class=num>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in section.items() if k != "what")
    return (f"<h2>Inversion: x -> E -> G</h2><p class=small>{html.escape(section['what'])}</p>"
            f"<table>{rows}</table>")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_inversion(section: dict[str, Any]) -> None:
    for key, value in section.items():
        if key != "what" and isinstance(value, (int, float)):
            print(f"inversion {key:<26}{_fmt(value):>10}")
