"""How fast the dashboard answers over a large RUNS_DIR, and how much memory it keeps (issue #16).

    .venv/bin/python benchmarks/dashboard_perf.py [--runs 200] [--rows 20000] [--dir /tmp/gankit-dash-perf]

Makes RUNS_DIR with --runs runs of --rows metric rows each (rows like a DCGAN run's: step, time, losses,
verdicts, img/s, diversity; one file, hard-linked into every run, so the disk holds it once but the
dashboard reads each run's file as its own), then starts `gankit dashboard` on a free port and times,
over HTTP from this process (wall clock, this machine):
  runs list   GET /api/runs (every run's status, step, elapsed, scores): the first request, then the median of 10
  run page    GET /run + /api/run + /api/metrics?since=0 of one run: the first time for that run (its
              20,000 rows parsed), then the median of 10; and the first time for 20 other runs
and the server's resident memory (VmRSS) after opening 60 different run pages. Targets: 300 ms and 200 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.dashboard_helpers import Dashboard, fake_run  # noqa: E402


def build(root: Path, runs: int, rows: int) -> None:
    stamp = root / f".built-{runs}-{rows}"
    if stamp.exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    master = root / ".metrics.jsonl"
    with master.open("w") as fh:
        for i in range(1, rows + 1):
            fh.write(json.dumps({"step": i, "time": round(0.05 * i, 3), "loss_D": 1.2 + 0.1 / i, "D(x)": 0.61,
                                 "D(G(z))": 0.38, "loss_G": 0.9 + 0.2 / i, "img_per_s": 812.4, "diversity": 1.02,
                                 "eval_fid": 30.0 if i % 1000 == 0 else None}) + "\n")
    for k in range(runs):
        run = fake_run(root, f"group-{k % 10}/run-{k:03d}", rows=1, samples=5,
                       scores={"fid": 10.0 + k % 7, "kid": 0.01})
        (run / "metrics.jsonl").unlink()
        os.link(master, run / "metrics.jsonl")
    stamp.touch()


def timed(dash: Dashboard, *paths: str) -> float:
    start = time.perf_counter()
    for p in paths:
        status, _, _ = dash.get(p)
        assert status == 200, (p, status)
    return 1000 * (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dir", default="/tmp/gankit-dash-perf")
    args = ap.parse_args()
    root = Path(args.dir)
    build(root, args.runs, args.rows)
    with Dashboard(root) as dash:
        page = lambda n: ("/run?run=" + n, "/api/run?run=" + n, "/api/metrics?since=0&run=" + n)  # noqa: E731
        names = [r["name"] for r in dash.json("/api/runs")]
        # the first /api/runs above was the cold one: time it again from a fresh server
    with Dashboard(root) as dash:
        cold_list = timed(dash, "/", "/api/runs")
        warm_list = statistics.median(timed(dash, "/api/runs") for _ in range(10))
        cold_page = timed(dash, *page(names[0]))
        warm_page = statistics.median(timed(dash, *page(names[0])) for _ in range(10))
        others = [timed(dash, *page(n)) for n in names[1:21]]
        for n in names[21:61]:
            timed(dash, *page(n))
        rss = dash.rss_mb()
    print(f"RUNS_DIR: {len(names)} runs x {args.rows:,} metric rows")
    print(f"runs list: first {cold_list:.0f} ms (page + /api/runs), then {warm_list:.0f} ms (median of 10); target 300 ms")
    print(f"run page:  first {cold_page:.0f} ms, then {warm_page:.0f} ms (median of 10); 20 other runs' first "
          f"opening: median {statistics.median(others):.0f} ms, max {max(others):.0f} ms; target 300 ms")
    print(f"resident memory after 61 run pages: {rss:.0f} MB; target < 200 MB")


if __name__ == "__main__":
    main()
