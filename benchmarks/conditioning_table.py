"""Issue #13's acceptance table: a conditional preset over several seeds, mean +- spread.

    .venv/bin/python benchmarks/conditioning_table.py shapes-text --seeds 0 1 2 --out runs/bench [--train]

With --train, trains `gankit train PRESET --set seed=S --set train.threads=1 --set train.clock=cpu` for
each seed (two at a time: this machine has two cores; the budget counts each run's own CPU time, so the
preset's minutes are CPU-minutes whatever else the machine runs), then scores every
run with `gankit evaluate RUN` and prints, per prompt set, exact match and each attribute as
mean +- std over the seeds (class-conditional presets: conditional accuracy, class spread, FID).
Without --train it scores runs already in OUT/PRESET-sS.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import bench_runs



def train(preset: str, seeds: list[int], out: Path, extra: list[str]) -> None:
    bench_runs.train([(out / f"{preset}-s{s}", [preset, "--set", f"seed={s}", *extra]) for s in seeds])


def spread(values: list[float]) -> str:
    mean, sd = bench_runs.mean_std(values)
    return f"{100 * mean:5.1f} ± {100 * sd:3.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("preset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--set", action="append", default=[], help="extra overrides for training")
    parser.add_argument("--reuse", action="store_true", help="read scores already in each run's scores.json")
    args = parser.parse_args()
    extra = [x for kv in args.set for x in ("--set", kv)]
    if args.train:
        train(args.preset, args.seeds, args.out, extra)
    runs = [args.out / f"{args.preset}-s{s}" for s in args.seeds]
    scores = [bench_runs.scores(r, args.reuse) for r in runs]
    steps = [json.loads((args.out / f"{args.preset}-s{s}" / "scores.json").read_text())["evaluate"]["samples"]["step"]
             for s in args.seeds]
    print(f"{args.preset}, seeds {args.seeds}, steps {steps} (mean ± std over seeds, %)")
    if "asked" not in scores[0]:
        for key in ("conditional_accuracy", "class_spread", "class_spread_min"):
            if key in scores[0]:
                print(f"  {key:<22} {spread([s[key] for s in scores])}")
        print(f"  fid                    {statistics.mean(s['fid'] for s in scores):.2f} ± "
              f"{statistics.stdev(s['fid'] for s in scores) if len(scores) > 1 else 0:.2f}")
        return
    for name, first in scores[0]["asked"]["sets"].items():
        sets = [s["asked"]["sets"][name] for s in scores]
        attrs = "  ".join(f"{a} {spread([e['per_attribute'][a] for e in sets])}" for a in first["per_attribute"])
        print(f"  {name:<22} exact {spread([e['exact_match'] for e in sets])}   {attrs}")
        if first.get("mean_per_attribute_balanced") is not None:
            print(f"  {'':<22} mean per attribute {spread([e['mean_per_attribute'] for e in sets])}, balanced "
                  f"{spread([e['mean_per_attribute_balanced'] for e in sets])}")
        if "stage1" in first:
            print(f"  {'':<22} stage I exact {spread([e['stage1']['exact_match'] for e in sets])}")
    div = [s["asked"]["diversity"] for s in scores]
    ratios = [d["spread_ratio"] for d in div if d.get("spread_ratio") is not None]
    print(f"  within-prompt spread ratio {statistics.mean(ratios):.3f} (per seed {[round(r, 3) for r in ratios]}), "
          f"background entropy {statistics.mean(d.get('free:background:entropy', float('nan')) for d in div):.3f}")
    fids = [s["asked"]["sets"][next(iter(s["asked"]["sets"]))]["fid_attribute_features"] for s in scores]
    print(f"  FID (attribute features, training captions) {statistics.mean(fids):.2f} ± "
          f"{statistics.stdev(fids) if len(fids) > 1 else 0:.2f}")
    first_set = next(iter(scores[0]["asked"]["sets"]))
    if "stage1" in scores[0]["asked"]["sets"][first_set]:  # stackgan: the same prompts and z through stage I, upsampled
        stage1 = [s["asked"]["sets"][first_set]["stage1"]["fid_attribute_features"] for s in scores]
        mean, sd = bench_runs.mean_std(stage1)
        print(f"  FID of stage I upsampled, same prompts and z {mean:.2f} ± {sd:.2f} "
              f"(per seed stage II {[round(f, 2) for f in fids]}, stage I {[round(f, 2) for f in stage1]})")


if __name__ == "__main__":
    main()
