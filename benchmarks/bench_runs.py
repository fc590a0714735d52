"""What the table scripts share: train runs two at a time on this two-core machine, score them.

Each run is `gankit train PRESET --set seed=S --set train.threads=1 --set train.clock=cpu ...`: one thread
each, and the preset's minutes count the run's own CPU time, so a budget means the same work whatever
else shares the cores. A run directory that already holds a finished run is kept, not trained again
(gankit never overwrites one): a table can be completed seed by seed.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

GANKIT = [sys.executable, "-m", "gankit"]
BUDGETED = ["--set", "train.threads=1", "--set", "train.clock=cpu", "--set", "train.progress=false"]


def train(jobs: list[tuple[Path, list[str]]]) -> None:
    """Run `gankit train ARGS --out OUT` for each (OUT, ARGS), at most two at a time."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    pending = [(out, args) for out, args in jobs if not (out / "checkpoints").exists()]
    for out, _ in jobs:
        if (out / "checkpoints").exists():
            print(f"kept {out} (already trained)", flush=True)
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < 2:
            out, args = pending.pop(0)
            cmd = [*GANKIT, "train", *args, *BUDGETED, "--out", str(out)]
            print("$", " ".join(cmd[2:]), flush=True)
            running.append(subprocess.Popen(cmd, env=env))
        running[0].wait()
        if running[0].returncode:
            raise SystemExit(f"training failed: {running[0].args}")
        running.pop(0)


def scores(run: Path, reuse: bool) -> dict:
    """The run's `gankit evaluate` scores: computed now, or (reuse) read from its scores.json."""
    if not reuse:
        env = {**os.environ, "OMP_NUM_THREADS": "2"}
        subprocess.run([*GANKIT, "evaluate", str(run)], env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads((run / "scores.json").read_text())["evaluate"]


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
