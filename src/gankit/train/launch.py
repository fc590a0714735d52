"""`gankit train ... --nproc N`: gankit starts torchrun with N processes on this machine.

The child is `python -m torch.distributed.run --nnodes 1 --nproc-per-node N --rdzv-backend c10d
--rdzv-endpoint 127.0.0.1:0 -m gankit train ARGS` (ARGS: this command's arguments without --nproc),
run through a short prelude (`_TORCHRUN`) that sends torchrun's own log and failure report to a file
and records the processes' failures as JSON. Rank 0 keeps this terminal (its progress bar, its summary
and its one-line errors); ranks > 0 write their output to files under the log folder. When the job
fails, this command adds one line, or nothing when rank 0 already printed its own (a UserError, exit 2;
Ctrl-C, 130; SIGTERM, 143): which process failed first and how, and where its output is (exit 1).

No torch import here: the parent only waits for its child.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from gankit.errors import UserError

# torchrun's main with its own stderr (log records, the ChildFailedError report) in a file; the workers it
# starts still inherit the terminal's stderr (file descriptor 2 is untouched)
_TORCHRUN = """\
import json, sys
report, log = sys.argv[1:3]
sys.stderr = open(log, "w", buffering=1)
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main
try:
    main(sys.argv[3:])
except SignalException as exc:  # Ctrl-C or SIGTERM: torchrun passed it on to the processes, which stopped
    sys.exit(128 + int(exc.sigval))
except ChildFailedError as exc:
    failures = [{"rank": r, "exitcode": f.exitcode, "signal": f.signal_name(), "timestamp": f.timestamp}
                for r, f in exc.failures.items()]
    json.dump(failures, open(report, "w"))
    sys.exit(1)
"""
SILENT_EXITS = (2, 130)  # the failing process printed its own line (UserError, Ctrl-C)
PEER_LOST = 75  # exit status of a worker whose collective failed: another one ended first (train/distributed.py)
LAUNCHER_ENV = "GANKIT_NPROC_LOGS"  # for the workers: this command reports the job's failure; rank 0 leaves its
PEER_LOST_FILE = "peer-lost.txt"  # line about a lost peer in this file of that folder, not on the terminal


def child_argv(args: argparse.Namespace) -> list[str]:
    """`gankit train` arguments for each process: these ones, without --nproc."""
    argv = ["train"]
    if args.preset:
        argv.append(args.preset)
    for pair in args.set:
        argv += ["--set", pair]
    if args.steps is not None:
        argv += ["--steps", str(args.steps)]
    if args.out:
        argv += ["--out", args.out]
    if args.suffix:
        argv.append("--suffix")
    if args.resume:
        argv += ["--resume", args.resume]
    return argv


def launch(args: argparse.Namespace) -> int:
    """Run `gankit train` (args without --nproc) in args.nproc processes; the exit status of the job."""
    if args.control:
        raise UserError("--control pauses and steps one process; it cannot drive --nproc processes (drop one of them)")
    nproc = int(args.nproc)
    logs = Path(tempfile.mkdtemp(prefix="gankit-nproc-"))
    quiet = ",".join(f"{rank}:3" for rank in range(1, nproc))  # ranks > 0: stdout and stderr to files
    cmd = [sys.executable, "-c", _TORCHRUN, str(logs / "failure.json"), str(logs / "torchrun.log"),
           "--nnodes", "1", "--nproc-per-node", str(nproc), "--max-restarts", "0",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:0", "--rdzv-id", uuid.uuid4().hex,
           "--log-dir", str(logs / "ranks"), *(["--redirects", quiet] if quiet else []),
           "-m", "gankit", *child_argv(args)]
    try:
        child = subprocess.Popen(cmd, env={**os.environ, LAUNCHER_ENV: str(logs)})
    except OSError as exc:
        raise UserError(f"cannot start torchrun ({sys.executable}): {exc.strerror or exc}") from None
    status, message = _outcome(_wait(child), logs, nproc, args)
    if message is None:  # success, or a stop that rank 0 reported itself: the logs hold nothing to read
        shutil.rmtree(logs, ignore_errors=True)
    else:
        print(f"gankit: error: {message}", file=sys.stderr)
    return status


def _outcome(code: int, logs: Path, nproc: int, args: argparse.Namespace) -> tuple[int, str | None]:
    """The job's exit status, and the line to print (None: nothing to add to what rank 0 printed)."""
    if code == 0:
        return 0, None
    failure = _root_cause(logs / "failure.json")
    if failure is None:  # torchrun was stopped (Ctrl-C, SIGTERM: the processes checkpointed) or failed itself
        if code in (128 + signal.SIGINT, -signal.SIGINT):
            return 130, None
        if code in (128 + signal.SIGTERM, -signal.SIGTERM):
            return 143, None
        return 2, f"torchrun failed (exit {code}) before any process ended; its log: {logs / 'torchrun.log'}"
    exitcode = int(failure["exitcode"])
    if exitcode in SILENT_EXITS:
        return exitcode, None
    lost = logs / PEER_LOST_FILE
    if exitcode == PEER_LOST and lost.exists():  # every process lost the others: rank 0's own account
        return 1, f"{lost.read_text().strip()} (the other processes' output: {logs / 'ranks'})"
    how = (f"was killed by {failure['signal']}" if exitcode < 0 else "lost contact with the others"
           if exitcode == PEER_LOST else f"exited with status {exitcode}")
    where = f"its output: {logs / 'ranks'}" if failure["rank"] else "its output is above"
    run = args.resume or (args.out if args.out and not args.suffix else "RUN_DIR")
    return 1, (f"training process {failure['rank']} of {nproc} {how} and torchrun stopped the others; {where}; "
               f"continue from the newest checkpoint with: gankit train --resume {run} --nproc {nproc}")


def _wait(child: subprocess.Popen) -> int:
    """The child's exit status; Ctrl-C reaches every process of the job from the terminal, so this one
    waits for them to checkpoint and stop."""
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


def _root_cause(path: Path) -> dict | None:
    """The failure that ended the job. torchrun stamps failures to the second, so the processes that lost
    their peers (PEER_LOST) or that it stopped (SIGTERM) may look as early as the one that failed; the first
    of: killed by another signal, exited with another status, SIGTERM, PEER_LOST."""
    try:
        failures = json.loads(path.read_text())
    except (OSError, ValueError):
        return None

    def order(f: dict) -> tuple:
        code, sigterm = f["exitcode"], f["signal"] == "SIGTERM"
        kind = 0 if code < 0 and not sigterm else 1 if code >= 0 and code != PEER_LOST else 2 if code < 0 else 3
        return kind, f.get("timestamp", 0), f["rank"]

    return min(failures, key=order) if failures else None
