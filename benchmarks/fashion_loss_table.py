"""Which loss to pick on images: every fashion-LOSS preset at one fixed CPU budget, several seeds, scored by
FID and classifier score.

    .venv/bin/python benchmarks/fashion_loss_table.py [--losses dcgan wgan wgangp hinge lsgan dragan r1
                                                        sinkhorn sinkhorn-features] [--seeds 0 1 2]
                                                       [--minutes 3] [--jobs 2] [--n 5000] [--out DIR]
                                                       [--score-only]

Each run is a real `gankit train fashion-LOSS --set seed=S --set train.minutes=M` in its own process, with
one torch thread; with --jobs 2 two runs share the 2 cores, so every run gets about one core for M minutes
of training (sample pictures included, start-up and scoring not). Then each run's EMA generator draws --n
samples (z from seed 0), scored against as many Fashion-MNIST test images in the cached domain classifier's
feature space (the features of `gankit evaluate`, not Inception). Prints per loss FID and classifier score
(mean ± std over seeds), the steps reached, then every run. Run directories are kept (look at the grids).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fashion_fid_table import floor, score_trainer  # noqa: E402  (the scoring shared with the DCGAN table)
from toy_table import mean_std  # noqa: E402

LOSSES = ["dcgan", "wgan", "wgangp", "hinge", "lsgan", "dragan", "r1", "sinkhorn", "sinkhorn-features"]


def train(preset: str, seed: int, minutes: float, root: Path) -> dict:
    out = root / f"{preset}-s{seed}"
    sets = [f"seed={seed}", f"train.minutes={minutes}", "train.steps=100000000", "train.threads=1",
            "train.progress=false"]
    cmd = [sys.executable, "-m", "gankit", "train", preset, "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no message)"]
        return {"preset": preset, "seed": seed, "error": lines[-1]}
    return {"preset": preset, "seed": seed, "run_dir": out}


def score_run(result: dict, n: int) -> dict:
    from gankit.train import session

    trainer = session.load_trainer(result["run_dir"])
    s = score_trainer(trainer, n)
    return {**result, "step": trainer.step, "train_s": trainer.elapsed(), "fid": s["fid"], "cs": s["classifier_score"],
            "trainer": trainer}


def existing(preset: str, seed: int, root: Path) -> dict:
    """A run trained earlier into root (--score-only)."""
    out = root / f"{preset}-s{seed}"
    if not (out / "config.toml").exists():
        return {"preset": preset, "seed": seed, "error": f"no run in {out}"}
    return {"preset": preset, "seed": seed, "run_dir": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--losses", nargs="+", default=LOSSES)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--minutes", type=float, default=3.0, help="training budget of every run")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n", type=int, default=5000, help="generated and test images per score")
    ap.add_argument("--out", type=Path, default=None, help="keep run directories here")
    ap.add_argument("--score-only", action="store_true", help="score the runs already in --out, train nothing")
    args = ap.parse_args()
    if args.score_only and args.out is None:
        ap.error("--score-only needs --out DIR (where the runs are)")
    root = args.out or Path(tempfile.mkdtemp(prefix="gankit-fashion-table-"))
    root.mkdir(parents=True, exist_ok=True)
    presets = [f"fashion-{loss}" for loss in args.losses]
    jobs = [(p, s) for p in presets for s in args.seeds]
    if args.score_only:
        trained = [existing(p, seed, root) for p, seed in jobs]
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            trained = list(pool.map(lambda job: train(*job, args.minutes, root), jobs))
    import torch

    torch.set_num_threads(2)
    results = [score_run(r, args.n) if "error" not in r else r for r in trained]
    print(f"\n{args.minutes:g} minutes of training per run, 1 torch thread, {args.jobs} runs at a time on this "
          f"machine; {args.n} EMA samples vs {args.n} test images, domain features\n")
    print("| preset | FID (mean ± std) | classifier score | steps reached | seeds |")
    print("|---|---|---|---|---|")
    for preset in presets:
        ok = [r for r in results if r["preset"] == preset and "error" not in r]
        failed = len([r for r in results if r["preset"] == preset]) - len(ok)
        note = f" ({failed} failed)" if failed else ""
        if not ok:
            print(f"| {preset}{note} | | | | 0 |")
            continue
        print(f"| {preset}{note} | {mean_std([r['fid'] for r in ok])} | {mean_std([r['cs'] for r in ok])} "
              f"| {statistics.mean(r['step'] for r in ok):,.0f} | {len(ok)} |")
    ok = [r for r in results if "error" not in r]
    if ok:
        real = floor(ok[0]["trainer"], args.n)
        print(f"| floor: {args.n} train images vs test | {real['fid']:.2f} | {real['classifier_score']:.2f} | - | - |")
    print("\n| preset | seed | FID | classifier score | step | training time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['preset']} | {r['seed']} | error: {r['error']} | | | |")
        else:
            print(f"| {r['preset']} | {r['seed']} | {r['fid']:.2f} | {r['cs']:.2f} | {r['step']:,} | {r['train_s']:.0f} s |")
    print(f"\nrun directories under {root}")


if __name__ == "__main__":
    main()
