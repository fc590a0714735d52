"""How long the light CLI commands take: `gankit --help`, `gankit presets`, an argument error.

Prints the median wall time of N runs of each, each a fresh process (what a user waits for), and
whether the command imported torch (it must not: importing torch alone takes about a second).

    .venv/bin/python benchmarks/cli_speed.py [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {"gankit --help": ["--help"], "gankit presets": ["presets"], "gankit train --set (error)": ["train", "--set"]}
PROBE = ("import sys\nfrom gankit.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
         "print('torch' in sys.modules, file=sys.stderr)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for label, argv in COMMANDS.items():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gankit", *argv], capture_output=True)
            times.append(time.perf_counter() - start)
        probe = subprocess.run([sys.executable, "-c", PROBE.format(args=argv)], capture_output=True, text=True)
        torch_loaded = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "?"
        print(f"{label:<28} median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}; "
              f"torch imported: {torch_loaded})")


if __name__ == "__main__":
    main()
