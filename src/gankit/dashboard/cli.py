"""Sub-commands of the browser side: `gankit dashboard`, `gankit quiz-prepare`, `gankit quiz-report`."""
from __future__ import annotations

import argparse
from pathlib import Path

from gankit.cli_types import SEED, int_in


def cmd_dashboard(args: argparse.Namespace) -> int:
    from gankit.dashboard.server import serve

    return serve(Path(args.runs_dir), host=args.host, port=args.port)


def cmd_quiz_prepare(args: argparse.Namespace) -> int:
    from gankit.quiz.pool import prepare_cli

    return prepare_cli(args.run_dir, n=args.n, seed=args.seed, force=args.force)


def cmd_quiz_report(args: argparse.Namespace) -> int:
    from gankit.quiz.report import report_cli

    return report_cli(args.run_dirs, as_json=args.json)


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="watch runs in the browser: curves, samples, the 2D game, the quiz")
    p.add_argument("runs_dir", nargs="?", default="runs", help="folder of run directories (default runs)")
    p.add_argument("--port", type=int_in(0, 65535), default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; anything else warns)")
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser("quiz-prepare", help="draw the real and fake images of a run's real-or-fake quiz")
    p.add_argument("run_dir", help="a directory made by gankit train")
    p.add_argument("--n", type=int_in(25, 5000), default=100, help="real images and as many fakes (default 100)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the fakes and of the real images picked")
    p.add_argument("--force", action="store_true", help="replace the run's existing quiz pool")
    p.set_defaults(func=cmd_quiz_prepare)
    p = sub.add_parser("quiz-report", help="HYPE-infinity score and fooling rate of runs' quiz answers")
    p.add_argument("run_dirs", nargs="+", help="runs whose quiz answers to score (one table)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_quiz_report)
