"""A self-contained HTML report: generated vs real samples, every score with its provenance, curves.

One file, no network: the pictures are PNGs embedded as base64 data URIs, the style is inline,
so it can be mailed or archived beside scores.json and opens the same anywhere.
"""
from __future__ import annotations

import base64
import html
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gankit.metrics.base import EvalContext
from gankit.files import atomic_write
from gankit.metrics.provenance import clean
from gankit.viz.grids import make_grid, png_bytes, upscale

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.pics{display:flex;gap:2em;flex-wrap:wrap}
figure{margin:0}figcaption{color:#555;font-size:12px}code{font-size:12px;color:#444}
img{image-rendering:pixelated;max-width:100%}.small{color:#666;font-size:12px}
"""
_SKIP_CURVES = {"step", "time", "img_per_s"}


def image_html(png: bytes, alt: str) -> str:
    """An <img> with the PNG embedded (the report is one self-contained file)."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


_img = image_html


def _grid_png(x: Any, n: int = 64) -> bytes:
    grid = make_grid(x[:n])
    return png_bytes(upscale(grid, max(1, math.ceil(320 / max(grid.shape[:2])))))


def _file_png(draw: Any) -> bytes:
    """PNG bytes of a plot function that writes to a path (the viz helpers write files)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plot.png"
        draw(path)
        return path.read_bytes()


def _pictures(ctx: EvalContext) -> str:
    if ctx.kind == "images":
        return (f'<div class="pics"><figure>{_img(_grid_png(ctx.fake), "generated")}'
                f"<figcaption>generated (first 64 of {len(ctx.fake)})</figcaption></figure>"
                f'<figure>{_img(_grid_png(ctx.real), "real")}'
                f"<figcaption>real: {html.escape(ctx.real_name)}</figcaption></figure></div>")
    from gankit.viz.plots import plot_points

    means = ctx.mixture.means if ctx.mixture is not None else None
    png = _file_png(lambda p: plot_points(ctx.real[: len(ctx.fake)], ctx.fake, p, means=means,
                                          title="real (data) vs generated"))
    return f"<figure>{_img(png, 'samples')}<figcaption>{len(ctx.fake)} generated points</figcaption></figure>"


def _fmt(v: Any) -> str:
    v = clean(v)
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.5g}"
    if isinstance(v, (dict, list)):
        return html.escape(json.dumps(v))
    return html.escape(str(v))


def _scores_table(scores: Mapping[str, Any]) -> str:
    head = ("<tr><th>score</th><th>value</th><th>spread</th><th>feature net (weights sha256)</th>"
            "<th>fake</th><th>real</th><th>reference</th><th>seed</th><th>details</th></tr>")
    shared = {"metric", "feature_net", "weights_sha256", "n_fake", "n_real", "real", "seed", "gankit_version",
              "std", "ci95"}
    rows = []
    for key, rec in scores["provenance"].items():
        if key.endswith("_std"):  # shown as the spread of its mean
            continue
        spread = (f"ci95 [{_fmt(rec['ci95'][0])}, {_fmt(rec['ci95'][1])}]" if rec.get("ci95")
                  else (f"± {_fmt(rec['std'])}" if rec.get("std") is not None else ""))
        sha = rec.get("weights_sha256")
        net = html.escape(rec["feature_net"]) + (f"<br><code>{sha[:16]}</code>" if sha else "")
        details = "; ".join(f"{html.escape(k)}: {_fmt(v)}" for k, v in rec.items() if k not in shared)
        rows.append(f"<tr><td><b>{html.escape(key)}</b><br><span class=small>{html.escape(rec['metric'])}</span></td>"
                    f"<td class=num>{_fmt(scores.get(key))}</td><td>{spread}</td><td>{net}</td>"
                    f"<td class=num>{rec['n_fake']}</td><td class=num>{rec['n_real']}</td>"
                    f"<td>{html.escape(str(rec['real']))}</td><td class=num>{rec['seed']}</td>"
                    f"<td class=small>{details}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _dict_table(d: Mapping[str, Any]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>"
                               for k, v in d.items()) + "</table>"


def _curves(rows: Sequence[Mapping[str, Any]]) -> str:
    from gankit.viz.plots import plot_curves

    def numeric(k: str) -> bool:
        return any(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)

    keys = sorted({k for r in rows for k in r} - _SKIP_CURVES)
    evals = [k for k in keys if k.startswith("eval_") and numeric(k)]
    losses = [k for k in keys if k not in evals and numeric(k)]
    parts = []
    for title, ks in (("training statistics", losses), ("evaluation during training", evals)):
        if ks:
            png = _file_png(lambda p, ks=ks, title=title: plot_curves(rows, ks, p, title=title))
            parts.append(f"<figure>{_img(png, title)}<figcaption>{title} (metrics.jsonl)</figcaption></figure>")
    if any("sinkhorn_to_data" in r for r in rows):  # a 2D run: D's verdicts vs 1/2, and the distance to the data
        from gankit.viz.plots import plot_convergence

        png = _file_png(lambda p: plot_convergence(rows, p, title="convergence"))
        parts.append(f"<figure>{_img(png, 'convergence')}<figcaption>convergence: what D says of real and fake "
                     "data (1/2 at the equilibrium of a logistic loss) and the Sinkhorn divergence between "
                     "samples and data</figcaption></figure>")
    return "".join(parts) or "<p>no numeric curves in metrics.jsonl</p>"


def _asked(section: Mapping[str, Any], picture: Sequence[tuple[str, Any]] | None) -> str:
    """The "did it draw what was asked?" table (one row per prompt set) and its labelled grid."""
    sets = section["sets"]
    attrs = list(next(iter(sets.values()))["per_attribute"]) if sets else []
    head = "".join(f"<th>{html.escape(a)}</th>" for a in attrs)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td class=num>{e['n']}</td><td class=num><b>{_fmt(e['exact_match'])}</b></td>"
        + "".join(f"<td class=num>{_fmt(e['per_attribute'][a])}</td>" for a in attrs)
        + f"<td class=num>{_fmt(e['judge_ceiling']['exact_match'])}</td>"
        + (f"<td class=num>{_fmt(e['stage1']['exact_match'])}</td>" if "stage1" in e else "") + "</tr>"
        for name, e in sets.items())
    stage1 = "<th>stage I exact match</th>" if any("stage1" in e for e in sets.values()) else ""
    table = (f"<table><tr><th>prompt set</th><th>n</th><th>exact match</th>{head}<th>judge on real</th>{stage1}</tr>"
             f"{rows}</table>")
    grid = ""
    if picture:
        from gankit.viz.captioned import captioned_grid

        import torch

        labels = [label for label, _ in picture]
        images = torch.cat([x for _, x in picture])
        grid = f"<figure>{_img(png_bytes(captioned_grid(images, len(picture[0][1]), labels)), 'prompts')}</figure>"
    judge = section.get("judge", {})
    return (f"<h2>Did it draw what was asked?</h2>{table}<h3>Within-prompt diversity</h3>"
            f"{_dict_table(section.get('diversity', {}))}<h3>Judge</h3>{_dict_table(judge)}{grid}")


def write_report(path: Path, scores: Mapping[str, Any], ctx: EvalContext, title: str,
                 rows: Sequence[Mapping[str, Any]] | None = None,
                 asked: Sequence[tuple[str, Any]] | None = None, extra_html: str = "") -> Path:
    """Write the report to `path` atomically; returns the path. extra_html: a game's own part (ALI's
    inversion scores and pictures), after the scores."""
    first = next(iter(scores["provenance"].values()), {})
    nets = "".join(f"<h3>{html.escape(name)}</h3>{_dict_table(info)}" for name, info in scores["feature_nets"].items())
    floor = scores.get("floor")
    parts = [
        (f"<!doctype html><html><head><meta charset=utf-8><title>gankit evaluation: {html.escape(title)}</title>"
         f"<style>{_STYLE}</style></head><body><h1>gankit evaluation: {html.escape(title)}</h1>"),
        (f"<p class=small>gankit {html.escape(str(first.get('gankit_version', '')))}; "
         f"reference {html.escape(str(scores.get('reference', {}).get('data', '')))}</p>"),
        "<h2>Samples</h2>", _pictures(ctx),
        "<h2>Scores</h2>", _scores_table(scores),
        (f"<p>Floor: {html.escape(floor['what'])} = <b>{_fmt(floor['fid'])}</b> "
         "(the FID a perfect generator would get with these sample counts).</p>" if floor else ""),
        _asked(scores["asked"], asked) if "asked" in scores else "",
        extra_html,
        "<h2>Samples scored</h2>", _dict_table(scores.get("samples", {})),
        "<h2>Reference data</h2>", _dict_table(scores.get("reference", {})),
        "<h2>Feature networks</h2>", nets or "<p>none: the toy metrics use the 2D points themselves</p>",
    ]
    if rows is not None:
        parts += ["<h2>Curves</h2>", _curves(rows) if rows else "<p>metrics.jsonl is empty</p>"]
    parts.append("</body></html>\n")
    return atomic_write(path, "".join(parts).encode())


