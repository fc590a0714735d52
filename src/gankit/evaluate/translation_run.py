"""Scoring a translation run: every direction it has, on the test split, into scores.json and report.html.

    evaluate_translation(run_dir, run, n=5000, seed=0, out=None)

The first n test inputs (in the split's order: the same inputs for every run of a dataset) are
translated by the run's sampling players (EMA copies where kept) and scored by
evaluate/translation.py; the report shows input | output | ground truth (| CycleGAN's cycle
F(G(x))) for the first inputs, the score tables and the training curves.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import torch

from gankit.evaluate.translation import DEFAULT_N, score_direction, test_data
from gankit.files import atomic_write


def _direction(run: Any, test: Any, direction: str, n: int, paired: bool) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Scores and picture panels of one direction ("AtoB": x -> x_b with its generator)."""
    from gankit.games.pix2pix import display
    from gankit.metrics.translation import cycle_error
    from gankit.train.sampling import evaluating

    source, target = ("x", "x_b") if direction == "AtoB" else ("x_b", "x")
    x = test.column(source)[:n]
    names = run.game.directions
    player = run.players[names[direction]]
    back = run.players.get(names.get("BtoA" if direction == "AtoB" else "AtoB", ""), None)
    device = next(player.parameters()).device
    outs, cycles = [], []
    with evaluating(run.players):
        for i in range(0, len(x), 256):
            out = player(x[i : i + 256].to(device))
            outs.append(out.float().cpu())
            if back is not None:
                cycles.append(back(out).float().cpu())
    out = torch.cat(outs)
    scores = score_direction(run.cfg, test, source, target, out, paired, n)
    scores["translator"] = names[direction]
    shown = max(x.shape[1], out.shape[1])
    panels = {"input": display(x, shown), "output": display(out, shown)}
    if paired:
        panels["ground truth"] = display(test.column(target)[: len(out)], shown)
    if cycles:
        rec = torch.cat(cycles)
        scores["cycle"] = {"l1": cycle_error(x, rec), "what": f"mean |{source} - {names.get('BtoA' if direction == 'AtoB' else 'AtoB')}"
                                                               f"({names[direction]}({source}))| in [0, 1] units"}
        panels["cycle"] = display(rec, shown)
    return scores, panels


def evaluate_translation(run_dir: Path, run: Any, n: int | None = None, seed: int = 0,
                         out: Path | None = None) -> dict[str, Any]:
    """Score every direction of a translation run; writes scores.json's "evaluate" section (or `out`) and the report."""
    from gankit.metrics import provenance
    from gankit.train.rundir import METRICS_FILE, read_rows, write_scores

    test, split = test_data(run.cfg)
    paired = test.spec["x_b"].kind == "paired_image"
    n = min(n or DEFAULT_N, len(test), *(len(d) for d in test.domains.values()))
    scores: dict[str, Any] = {"samples": {"source": f"run {run_dir}", "step": run.step, "sampled_with": run.sampled_with,
                                          "n": n, "inputs": f"the first {n} rows of {run.cfg.data.name}:{split}",
                                          "paired_ground_truth": paired}}
    pictures = {}
    torch.manual_seed(seed)  # nothing here is random (eval mode); kept for any player that is
    for direction in run.game.directions:
        scores[direction], pictures[direction] = _direction(run, test, direction, n, paired)
    text = provenance.dumps(scores)
    target = atomic_write(out, text.encode()) if out is not None else write_scores(run_dir, "evaluate", json.loads(text))
    page = out.with_suffix(".html") if out is not None else run_dir / "report.html"
    report = write_translation_report(page, scores, pictures, f"{run_dir.name} (step {run.step})",
                                      read_rows(run_dir / METRICS_FILE))
    print_translation(scores, [target, report])
    return scores


def headline(d: dict[str, Any]) -> dict[str, float]:
    """The few numbers a reader looks for first, per direction."""
    out: dict[str, float] = {}
    for key, path in (("L1", ("pixels", "l1", "mean")), ("PSNR", ("pixels", "psnr", "mean")),
                      ("SSIM", ("pixels", "ssim", "mean")), ("FCN per-pixel acc", ("fcn", "per_pixel_accuracy")),
                      ("FCN per-class acc", ("fcn", "per_class_accuracy")), ("FCN class IoU", ("fcn", "class_iou")),
                      ("label per-pixel acc", ("labels", "per_pixel_accuracy")),
                      ("label class IoU", ("labels", "class_iou")),
                      ("target-attribute acc", ("attributes", "target_accuracy")),
                      ("content preservation", ("attributes", "content_preservation")),
                      ("target-class rate", ("domain", "target_class_rate")),
                      ("same class as input", ("domain", "same_class_as_input")),
                      ("FID", ("fid", "value")), ("cycle L1", ("cycle", "l1"))):
        v: Any = d
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            out[key] = float(v)
    return out


def print_translation(scores: dict[str, Any], written: list[Path]) -> None:
    for direction in ("AtoB", "BtoA"):
        if direction in scores:
            for key, value in headline(scores[direction]).items():
                print(f"{direction} {key:<24}{value:>12.5g}")
            ceiling = scores[direction].get("fcn", {}).get("real_images", {}).get("per_pixel_accuracy")
            if ceiling is not None:
                print(f"{direction} {'(real photos, FCN acc)':<24}{ceiling:>12.5g}")
    for path in written:
        print(f"wrote {path}")


def write_translation_report(path: Path, scores: dict[str, Any], pictures: dict[str, dict[str, torch.Tensor]],
                             title: str, rows: list[dict[str, Any]]) -> Path:
    from gankit.evaluate.report import _STYLE, _curves, _img
    from gankit.viz.grids import make_grid, png_bytes, upscale

    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style>",
             f"<h1>{html.escape(title)}</h1><p class='small'>{html.escape(scores['samples']['inputs'])}; "
             f"{html.escape(str(scores['samples']['sampled_with']))}</p>"]
    for direction, panels in pictures.items():
        d = scores[direction]
        table = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{v:.4g}</td></tr>" for k, v in headline(d).items())
        real = d.get("fcn", {}).get("real_images", {})
        if real:
            table += (f"<tr><td>FCN on real photos (ceiling)</td><td class='num'>"
                      f"{real.get('per_pixel_accuracy', float('nan')):.4g}</td></tr>")
        tiles = torch.cat([p[:32] for p in panels.values()], dim=3)
        grid = make_grid(tiles, nrow=4)  # four triplets a row
        png = png_bytes(upscale(grid, max(1, 640 // max(grid.shape[:2]))))
        parts.append(f"<h2>{direction}: {html.escape(d['translator'])}</h2><table>{table}</table>"
                     f"<figure>{_img(png, direction)}<figcaption>{' | '.join(map(html.escape, panels))}"
                     f"</figcaption></figure>")
    parts.append(f"<h2>Training</h2>{_curves(rows)}" if rows else "")
    parts.append(f"<h2>All scores</h2><pre class='small'>{html.escape(json.dumps(scores, indent=1)[:60000])}</pre>")
    return atomic_write(path, "".join(parts).encode())
