"""The table that tells users which loss to pick: every loss preset on ring8 and grid25, several seeds.

    .venv/bin/python benchmarks/toy_table.py [--losses gan minimax wgan wgangp hinge lsgan dragan r1 sinkhorn]
                                             [--data ring8 grid25] [--seeds 0 1 2 3 4] [--jobs 2] [--out DIR]

Each run is a real `gankit train DATA-LOSS --set seed=S` in its own process (benchmarks/toy_runs.py), scored
with the VEEGAN/PacGAN protocol (2,500 samples of the EMA generator). Prints, per preset, modes (mean ± std over
seeds, and the worst seed), high-quality % (mean ± std), reverse KL and wall time, then every single run.
With --jobs 2 two runs share the 2 cores (one torch thread each): wall times are those of a busy machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toy_runs import run  # noqa: E402  (one way of running a preset, shared with toy_runs.py)

LOSSES = ["gan", "minimax", "wgan", "wgangp", "hinge", "lsgan", "dragan", "r1", "sinkhorn"]


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.2f}"


def summary_row(preset: str, runs: list[dict]) -> str:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return f"| {preset} | 0/{len(runs)} finished | | | | |"
    n_modes = ok[0]["n_modes"]
    modes = [float(r["modes"]) for r in ok]
    hq = [100 * r["high_quality"] for r in ok]
    kl = [r["reverse_kl"] for r in ok]
    wall = statistics.mean(r["wall_s"] for r in ok)
    failed = f" ({len(runs) - len(ok)} failed)" if len(ok) < len(runs) else ""
    return (f"| {preset}{failed} | {mean_std(modes)} / {n_modes} (worst {min(modes):.0f}) | {mean_std(hq)} "
            f"| {mean_std(kl)} | {wall:.0f} s | {len(ok)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--losses", nargs="+", default=LOSSES)
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep run directories here")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="gankit-toy-table-"))
    root.mkdir(parents=True, exist_ok=True)
    threads = 1 if args.jobs > 1 else 2
    presets = [f"{d}-{loss}" for d in args.data for loss in args.losses]
    jobs = [(p, s) for p in presets for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run(*job, root, threads), jobs))
    print("| preset | modes (mean ± std over seeds) | high quality % | reverse KL | wall time | seeds |")
    print("|---|---|---|---|---|---|")
    for preset in presets:
        print(summary_row(preset, [r for r in results if r["preset"] == preset]))
    print("\n| preset | seed | modes | high quality | reverse KL | wall time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['preset']} | {r['seed']} | error: {r['error']} | | | {r['wall_s']:.0f} s |")
        else:
            print(f"| {r['preset']} | {r['seed']} | {r['modes']}/{r['n_modes']} | {100 * r['high_quality']:.1f}% "
                  f"| {r['reverse_kl']:.3f} | {r['wall_s']:.0f} s |")
    print(f"\nrun directories under {root}")


if __name__ == "__main__":
    main()
