"""Issue #14's tables: a translation preset (and its ablations) over several seeds, mean +- spread.

    .venv/bin/python benchmarks/translation_table.py shapes-labels2img-pix2pix --seeds 0 1 2 --out runs/bench-14 \
        --variant l1=game.gan=none --variant cgan=game.l1=0 [--train] [--picture ablation.png]

Each variant (the preset itself is "full"; --variant NAME=KEY=VALUE[,KEY=VALUE...] adds one) is trained with
`gankit train PRESET --set seed=S --set train.threads=1 --set train.clock=cpu` (two runs at a time on this
two-core machine; the preset's minutes are CPU-minutes of each run), scored with `gankit evaluate RUN`, and
printed per direction as mean +- std over the seeds of the headline scores (evaluate/translation_run.py).
--picture draws, for seed 0 of every variant, the same test inputs side by side: input | variants | truth.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import bench_runs


def picture(preset: str, runs: dict[str, Path], path: Path, n: int = 8) -> None:
    import torch

    from gankit.evaluate.translation import test_data
    from gankit.games.pix2pix import display
    from gankit.train.restore import restore
    from gankit.train.sampling import evaluating
    from gankit.viz.grids import make_grid, save_png, upscale

    first = restore(next(iter(runs.values())))
    test, _ = test_data(first.cfg)
    x = test.column("x")[:n]
    target = test.column("x_b")[:n] if test.spec["x_b"].kind == "paired_image" else None
    columns = [x]
    for run_dir in runs.values():
        run = restore(run_dir)
        with evaluating(run.players):
            columns.append(run.players[run.game.directions["AtoB"]](x))
    if target is not None:
        columns.append(target)
    shown = max(c.shape[1] for c in columns)
    grid = make_grid(torch.cat([display(c, shown) for c in columns], dim=3), nrow=1)
    save_png(upscale(grid, 4), path)
    print(f"wrote {path}: rows of input | {' | '.join(runs)}{' | ground truth' if target is not None else ''}")


def spread(values: list[float]) -> str:
    mean, sd = bench_runs.mean_std(values)
    return f"{mean:.4g} ± {sd:.2g}"


def main() -> None:
    from gankit.evaluate.translation_run import headline

    parser = argparse.ArgumentParser()
    parser.add_argument("preset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/bench-14"))
    parser.add_argument("--variant", action="append", default=[], help="NAME=KEY=VALUE[,KEY=VALUE...]")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE for every variant (e.g. a shorter run)")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="read scores already in each run's scores.json")
    parser.add_argument("--picture", type=Path)
    args = parser.parse_args()
    variants = {"full": []}
    for v in args.variant:
        name, _, sets = v.partition("=")
        variants[name] = [s for kv in sets.split(",") for s in ("--set", kv)]
    run = lambda name, s: args.out / f"{args.preset}-{name}-s{s}"  # noqa: E731
    if args.train:
        base = [x for kv in args.set for x in ("--set", kv)]
        bench_runs.train([(run(name, s), [args.preset, "--set", f"seed={s}", *base, *sets])
                          for s in args.seeds for name, sets in variants.items()])
    for name in variants:
        scores = [bench_runs.scores(run(name, s), args.reuse) for s in args.seeds]
        steps = [sc["samples"]["step"] for sc in scores]
        print(f"{args.preset} [{name}], seeds {args.seeds}, steps {steps} (mean ± std over seeds)")
        for direction in ("AtoB", "BtoA"):
            if direction not in scores[0]:
                continue
            heads = [headline(sc[direction]) for sc in scores]
            line = "  ".join(f"{k} {spread([h[k] for h in heads])}" for k in heads[0])
            print(f"  {direction}: {line}")
            real = scores[0][direction].get("fcn", {}).get("real_images", {}).get("per_pixel_accuracy")
            if real is not None:
                print(f"  {direction}: FCN per-pixel accuracy on real photos (ceiling) {real:.4g}")
    if args.picture:
        picture(args.preset, {name: run(name, args.seeds[0]) for name in variants}, args.picture)


if __name__ == "__main__":
    main()
