"""The `gankit evaluate` command: argument parsing only (the work is in evaluate/run.py).

    gankit evaluate RUN_DIR [--metrics fid,kid,prdc,...] [--n 10000]
    gankit evaluate --fake DIR_OR_NPY --real DATASET[:split] [--metrics ...] [--out FILE.json]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gankit.cli_types import SEED, int_in


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gankit.errors import UserError
    from gankit.evaluate.run import Request, evaluate_fake, evaluate_run

    if args.threads < 0:
        raise UserError(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    if args.metrics is not None and not metrics:
        raise UserError("--metrics needs at least one name, e.g. --metrics fid,kid")
    req = Request(metrics=metrics, n=args.n, seed=args.seed, features=args.features,
                  inception_weights=args.inception_weights, download_inception=args.download_inception)
    out = Path(args.out) if args.out else None
    if args.fake or args.real:
        if args.run_dir:
            raise UserError("give either RUN_DIR or --fake/--real, not both")
        if not (args.fake and args.real):
            raise UserError("--fake and --real go together: --fake DIR_OR_NPY --real DATASET[:split]")
        if args.split:
            raise UserError("--split is for RUN_DIR; with --fake put the split in --real, e.g. fashion-mnist:test")
        evaluate_fake(args.fake, args.real, req, out)
        return 0
    if not args.run_dir:
        raise UserError("evaluate needs a RUN_DIR, or --fake DIR_OR_NPY --real DATASET[:split]")
    evaluate_run(Path(args.run_dir), req, split=args.split, out=out)
    return 0


def add_subcommand(sub: argparse._SubParsersAction) -> None:
    """Register `gankit evaluate` on the main parser's sub-commands."""
    p = sub.add_parser("evaluate", help="score a run (or any images) with FID, KID, PRDC, ... and provenance",
                       description="Scores generated samples against real data, offline, and writes every "
                                   "score with its provenance (feature net + weights hash, counts, split, seed).")
    p.add_argument("run_dir", nargs="?", help="run directory (writes RUN_DIR/scores.json and RUN_DIR/report.html)")
    p.add_argument("--fake", help="folder of images or .npy array to score instead of a run")
    p.add_argument("--real", help="reference data for --fake: DATASET[:train|test] or a folder")
    p.add_argument("--metrics", help="comma-separated metric names (default: all that apply); "
                                     "images: fid,kid,prdc,classifier_score,class_coverage,conditional_accuracy,class_spread; "
                                     "2D: modes,w2")
    p.add_argument("--n", type=int_in(1, 200_000), help="samples to score (default 10000 images; toy: eval.n_samples;"
                                                        " at most 200,000)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of z and of every random subset (default 0)")
    p.add_argument("--split", choices=("train", "test"), help="reference split for RUN_DIR (default: test if any)")
    p.add_argument("--features", default="domain", help="feature net for fid/kid/prdc: domain (gankit's own "
                                                         "classifier, default) or inception (the FID Inception)")
    p.add_argument("--inception-weights", metavar="PATH", help="pt_inception-2015-12-05-6726825d.pth "
                                                               "(or set GANKIT_INCEPTION_WEIGHTS)")
    p.add_argument("--download-inception", action="store_true", help="allow one download of the Inception weights")
    p.add_argument("--threads", type=int_in(0, 1024), default=0, help="torch threads (0 = torch's default; on a busy "
                                                          "machine 1 is often fastest)")
    p.add_argument("--out", help="scores .json to write (RUN_DIR default: RUN_DIR/scores.json); a report "
                                 ".html is written beside it for --fake")
    p.set_defaults(func=cmd_evaluate)
