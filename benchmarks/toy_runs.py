"""Toy-mixture runs of the presets: modes, high-quality fraction, reverse KL and wall time per seed.

    .venv/bin/python benchmarks/toy_runs.py [--presets ring8-gan ring8-minimax grid25-gan grid25-minimax]
                                            [--seeds 0 1 2] [--jobs 1] [--threads N]

A preset may carry overrides after a colon (ring8-ali:game.encoder=deterministic is BiGAN).

Each run is a real `gankit train PRESET --set seed=S` in its own process (wall time includes start-up
and the pictures). With --jobs 2 two runs share the machine, one torch thread each, so their wall
times are not comparable with --jobs 1. Prints a Markdown table for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT = ["ring8-gan", "ring8-minimax", "grid25-gan", "grid25-minimax"]


def run(preset: str, seed: int, root: Path, threads: int) -> dict:
    """One run; `preset` may carry overrides after a colon: ring8-ali:game.encoder=deterministic,train.steps=8000."""
    name, _, sets = preset.partition(":")
    out = root / f"{preset.replace(':', '+').replace('=', '-').replace(',', '+')}-s{seed}"
    extra = [x for kv in sets.split(",") if kv for x in ("--set", kv)]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gankit", "train", name, "--out", str(out), "--set", f"seed={seed}",
                           "--set", "train.progress=false", "--set", f"train.threads={threads}", *extra],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"preset": preset, "seed": seed, "error": proc.stderr.strip().splitlines()[-1], "wall_s": wall}
    from gankit.train.rundir import read_scores  # the parent process only reads run files

    scores = read_scores(out)["train"]
    return {"preset": preset, "seed": seed, "wall_s": wall, **scores, "run_dir": str(out)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=DEFAULT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep run directories here")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run (default 2, or 1 with --jobs > 1)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="gankit-toy-"))
    root.mkdir(parents=True, exist_ok=True)
    threads = args.threads or (1 if args.jobs > 1 else 2)
    jobs = [(p, s) for p in args.presets for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run(*job, root, threads), jobs))
    recon = any("recon_l2" in r for r in results)  # ALI / BiGAN runs: E's reconstruction error too
    extra = " recon \\|G(E(x)) - x\\| | recon within 3 sigma |" if recon else ""
    print(f"| preset | seed | modes | high quality | reverse KL |{extra} wall time |")
    print("|---|---|---|---|---|" + ("---|---|" if recon else "") + "---|")
    for r in results:
        if "error" in r:
            gap = " | |" if recon else ""
            print(f"| {r['preset']} | {r['seed']} | error: {r['error']} | | |{gap} {r['wall_s']:.0f} s |")
            continue
        cells = f" {r['recon_l2']:.4f} | {100 * r['recon_within_3sigma']:.1f}% |" if recon and "recon_l2" in r else (
            " | |" if recon else "")
        print(f"| {r['preset']} | {r['seed']} | {r['modes']}/{r['n_modes']} | {100 * r['high_quality']:.1f}% "
              f"| {r['reverse_kl']:.3f} |{cells} {r['wall_s']:.0f} s |")
    for preset in args.presets:
        ok = [r for r in results if r["preset"] == preset and "error" not in r]
        if ok:
            mean = statistics.mean
            scored = recon and all("recon_l2" in r for r in ok)
            cells = (f" {mean(r['recon_l2'] for r in ok):.4f} | {100 * mean(r['recon_within_3sigma'] for r in ok):.1f}% |"
                     if scored else (" | |" if recon else ""))
            worst = f"worst {min(r['modes'] for r in ok)} modes, {100 * min(r['high_quality'] for r in ok):.1f}%"
            print(f"| **{preset} mean** | {len(ok)} seeds ({worst}) | {mean(r['modes'] for r in ok):.1f} "
                  f"| {100 * mean(r['high_quality'] for r in ok):.1f}% | {mean(r['reverse_kl'] for r in ok):.3f} |"
                  f"{cells} {mean(r['wall_s'] for r in ok):.0f} s |")
    print(f"\nrun directories under {root}")


if __name__ == "__main__":
    main()
