"""Issue #15's stacked Fashion-MNIST table: modes out of 1000 and KL(model class histogram || uniform).

    .venv/bin/python benchmarks/stacked_table.py --seeds 0 1 2 --minutes 5 --out runs/bench-15 [--train]

Methods (each a preset plus overrides): GAN, PacGAN2-4 (`game.pack`), R1 and ALI. gankit's PacGANk splits
the batch of 64 into 64/k packs (63 images for k = 3), so its D makes k times fewer, wider decisions per step. With --train, each
(method, seed) is `gankit train PRESET --set seed=S --set train.minutes=M` on one thread with a CPU-time
budget (bench_runs.train, two at a time), then `gankit evaluate RUN --metrics stacked_modes` scores 26,000
samples (PacGAN's protocol: each channel read by the Fashion-MNIST domain classifier; a mode is one of the
1000 class triples). Without --train it reads runs already in OUT/stacked{M}-METHOD-sS and scores those
not scored yet. Prints one row per run and a mean +- std row per method, in Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import bench_runs

METHODS = {
    "GAN": ("stacked-fashion-gan", []),
    "PacGAN2": ("stacked-fashion-gan", ["game.pack=2"]),
    "PacGAN3": ("stacked-fashion-gan", ["game.pack=3", "train.batch_size=63"]),  # a batch splits into packs of 3
    "PacGAN4": ("stacked-fashion-gan", ["game.pack=4"]),
    "R1": ("stacked-fashion-r1", []),
    "ALI": ("stacked-fashion-ali", []),
}
SHORT = {"GAN": "gan", "PacGAN2": "pac2", "PacGAN3": "pac3", "PacGAN4": "pac4", "R1": "r1", "ALI": "ali"}


def run_dir(out: Path, minutes: float, method: str, seed: int) -> Path:
    return out / f"stacked{minutes:g}-{SHORT[method]}-s{seed}"


def score(run: Path) -> dict:
    scores = run / "scores.json"
    if not scores.exists() or "stacked_modes" not in json.loads(scores.read_text()).get("evaluate", {}):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run([*bench_runs.GANKIT, "evaluate", str(run), "--metrics", "stacked_modes", "--threads", "1"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    evaluate = json.loads(scores.read_text())["evaluate"]
    from gankit.train.rundir import METRICS_FILE, read_rows  # the run's history as every reader sees it

    steps = max((r["step"] for r in read_rows(run / METRICS_FILE) if "step" in r), default=0)
    return {"modes": evaluate["stacked_modes"], "kl": evaluate["stacked_kl"], "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=5.0, help="CPU-minutes of training per run")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-15"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--train", action="store_true")
    args = parser.parse_args()
    if args.train:
        bench_runs.train([(run_dir(args.out, args.minutes, m, s),
                           [METHODS[m][0], "--set", f"seed={s}", "--set", f"train.minutes={args.minutes:g}",
                            *[x for kv in METHODS[m][1] for x in ("--set", kv)]])
                          for s in args.seeds for m in args.methods])
    print("| method | seed | steps | modes (of 1000) | KL(histogram ‖ uniform) |")
    print("|---|---|---|---|---|")
    means = []
    for method in args.methods:
        got = [(s, score(run_dir(args.out, args.minutes, method, s))) for s in args.seeds
               if (run_dir(args.out, args.minutes, method, s) / "checkpoints").exists()]
        for seed, r in got:
            print(f"| {method} | {seed} | {r['steps']:,} | {r['modes']} | {r['kl']:.3f} |", flush=True)
        if got:
            modes, mstd = bench_runs.mean_std([r["modes"] for _, r in got])
            kl, kstd = bench_runs.mean_std([r["kl"] for _, r in got])
            means.append(f"| **{method} mean** | {len(got)} seeds | | {modes:.1f} ± {mstd:.1f} | {kl:.3f} ± {kstd:.3f} |")
    print("\n".join(means))


if __name__ == "__main__":
    main()
