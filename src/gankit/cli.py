"""The `gankit` command. Thin: it parses arguments, then calls plain functions.

Bad input anywhere ends with one line on stderr and exit status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import NoReturn, Sequence

from gankit.cli_types import SEED, int_in
from gankit.errors import UserError

MAX_SAMPLES = 100_000  # gankit sample draws one picture: a 2D scatter of up to 100,000 points,
MAX_GRID = 10_000  # or a grid of up to 100 x 100 images


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        if "required: command" in message:
            raise UserError("give a command: train, presets, sample, info, evaluate, translate, encode, reconstruct, "
                            "interpolate, expressivity, dashboard, quiz-prepare or quiz-report (gankit COMMAND --help for its options)")
        where = self.prog.removeprefix("gankit").strip()  # "gankit: error: train: ...", not "gankit: gankit train:"
        raise UserError(f"{where}: {message}" if where else message)


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"gankit: warning: {message}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    if args.nproc is not None:  # DDP: gankit starts torchrun, N processes each running this command without --nproc
        from gankit.train.launch import launch

        return launch(args)
    from gankit import config as config_mod
    from gankit import presets
    from gankit.files import strict_json
    from gankit.train import session

    if args.resume:
        if args.preset or args.set or args.out:
            raise UserError("--resume RUN_DIR continues a run with its own config; drop the preset, --set and --out")
        result = session.resume(Path(args.resume), steps=args.steps, control=args.control)
    else:
        if not args.preset:
            raise UserError("train needs a preset or a .toml file (see `gankit presets`), or --resume RUN_DIR")
        name, values = presets.resolve(args.preset)
        values = {**values, "preset": values.get("preset") or name}  # the runs list's "preset" column
        overrides = config_mod.parse_overrides(args.set)
        if args.steps is not None:
            if not isinstance(overrides.setdefault("train", {}), dict):
                raise UserError("config key 'train' is a section; set train.<key>=value")
            overrides["train"]["steps"] = str(args.steps)
        cfg = config_mod.build(values, overrides)
        out, suffix = (Path(args.out), args.suffix) if args.out else (Path("runs") / name, True)
        result = session.train_new(cfg, out, suffix=suffix, control=args.control)
    print(f"run directory: {result.run_dir}  (step {result.step}, stopped by {result.stopped_by})")
    for name in ("samples", "progress.gif", "curves.png", "convergence.png", "scores.json"):
        if (result.run_dir / name).exists():
            print(f"  {name:<13} {result.run_dir / name}")
    if result.scores:
        keys = ("modes", "n_modes", "high_quality", "reverse_kl", "reverse_kl_why")
        shown = {k: v for k, v in result.scores.items() if k in keys}
        print("  scores       " + json.dumps(strict_json(shown)))
    return 130 if result.stopped_by == "interrupted" else 0


def cmd_presets(args: argparse.Namespace) -> int:
    from gankit import presets

    for name in presets.names():
        print(f"{name:<24} {presets.describe(name)}")
    return 0


def parse_conditions(pairs: list[str], label: int | None) -> dict[str, str]:
    """--condition KEY=VALUE (repeatable) and the --label N shorthand -> {key: value}."""
    conditions: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"--condition expects key=value (e.g. label=3 or tags=red,hat), got {pair!r}")
        conditions[key.strip()] = value.strip()
    if label is not None:
        if "label" in conditions:
            raise UserError("give the class once: --label N or --condition label=N")
        conditions["label"] = str(label)
    return conditions


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from gankit.train import outputs
    from gankit.train.loop import load_data
    from gankit.train.restore import restore, source_batch

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; choose another --out or pass --force to replace it")
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must be a .png file, got {out}")
    conditions = parse_conditions(args.condition, args.label)
    asks = _asks(args)
    if asks:
        per_row = args.n or 8
        if conditions:
            raise UserError("--prompt/--tags and --condition/--label exclude each other: give one way of asking")
        if per_row * len(asks[1]) > MAX_GRID:
            raise UserError(f"{len(asks[1])} prompts x {per_row} samples: one picture holds at most {MAX_GRID:,} images")
        for side in (out.with_suffix(".npy"), out.with_suffix(".prompts.txt")):
            if side.exists() and not args.force:
                raise UserError(f"{side} exists; choose another --out or pass --force to replace it")
    run = restore(Path(args.run_dir))
    if getattr(run.game, "directions", None):
        raise UserError(f"{args.run_dir} is a {run.cfg.game.name} run: it translates images rather than drawing from "
                        f"noise; use gankit translate {args.run_dir} INPUT.png|DIR --out OUT")
    if asks:
        from gankit.sample_prompts import sample_rows

        written = sample_rows(run, asks[0], asks[1], per_row, args.seed, out)
        print(f"wrote {', '.join(map(str, written))} ({len(asks[1])} prompts x {per_row} samples, step {run.step})")
        return 0
    args.n = 64 if args.n is None else args.n
    if run.spec["x"].kind != "points" and args.n > MAX_GRID:
        raise UserError(f"--n {args.n}: one picture holds at most {MAX_GRID:,} images (a {int(MAX_GRID**0.5)} x "
                        f"{int(MAX_GRID**0.5)} grid); draw several pictures with different --seed")
    source = source_batch(run.cfg, run.game, args.n)
    inputs = run.game.fixed_inputs(args.n, torch.Generator().manual_seed(args.seed), source=source, **conditions)
    data = load_data(run.cfg) if run.spec["x"].kind == "points" else None  # 2D: real points drawn beside fakes
    outputs.render(run.game, run.players, inputs, data, out,
                   title=f"step {run.step}, seed {args.seed}", decision_surface=False)
    asked = "".join(f", {k}={v}" for k, v in conditions.items())
    print(f"wrote {out} ({args.n} samples, step {run.step}, seed {args.seed}{asked})")
    return 0


def _asks(args: argparse.Namespace) -> tuple[str, list[str]] | None:
    """("text", prompts) from --prompt/--prompts, ("tags", lists) from --tags, or None."""
    from gankit.sample_prompts import read_prompts

    prompts = list(args.prompt) + (read_prompts(args.prompts) if args.prompts else [])
    if prompts and args.tags:
        raise UserError("give --prompt/--prompts or --tags, not both")
    for p in prompts:
        if not p.strip():
            raise UserError("a --prompt is empty: describe what to draw")
    if prompts:
        return "text", prompts
    return ("tags", list(args.tags)) if args.tags else None


def cmd_info(args: argparse.Namespace) -> int:
    from gankit import config as config_mod
    from gankit.train import checkpoint, rundir

    run_dir = rundir.require_run(Path(args.run_dir))
    cfg = config_mod.load(run_dir / rundir.CONFIG_FILE)
    ckpts = checkpoint.committed(run_dir)
    settings = ", ".join(f"{k} {v}" for k, v in config_mod.to_dict(cfg.game).items() if k != "name")
    nets = " ".join(f"{name}={c.arch}" for name, c in cfg.nets.players.items())
    print(f"run        {run_dir}")
    print(f"game       {cfg.game.name} ({settings})")
    print(f"data       {cfg.data.name}  nets {nets} z_dim={cfg.nets.z_dim}")
    print(f"schedule   {cfg.train.steps} steps, batch {cfg.train.batch_size}, seed {cfg.seed}, EMA {cfg.train.ema}")
    print(f"checkpoints {', '.join(p.name for p in ckpts) or 'none'}")
    for section, values in rundir.read_scores(run_dir).items():
        numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        print(f"scores     {section}: {json.dumps(numbers)}  ({run_dir / rundir.SCORES_FILE})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gankit", description="Generative adversarial networks as games, on a laptop CPU.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("train", help="train a preset or a TOML config; or --resume a run")
    p.add_argument("preset", nargs="?", help="preset name (gankit presets) or path to a .toml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. train.steps=100")
    p.add_argument("--steps", type=int_in(0, 10**12), help="generator steps (same as --set train.steps=N)")
    p.add_argument("--out", help="run directory (default runs/PRESET, suffixed -2, -3 ... if taken)")
    p.add_argument("--suffix", action="store_true", help="if --out exists, make OUT-2, OUT-3 ... instead of refusing")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest good checkpoint")
    p.add_argument("--control", action="store_true",
                   help="let the dashboard pause and step this run: prints a token its Pause/Step buttons need")
    p.add_argument("--nproc", type=int_in(1, 1024), metavar="N",
                   help="train with N processes on this machine (DDP via torchrun; train.batch_size is the global batch)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("presets", help="list presets with one line each")
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("sample", help="draw samples from a run into a PNG")
    p.add_argument("run_dir", help="a directory made by gankit train (its newest good checkpoint is used)")
    p.add_argument("--n", type=int_in(1, MAX_SAMPLES), default=None,
                   help=f"samples to draw (default 64; at most {MAX_SAMPLES:,}: one picture); with prompts, per prompt (default 8)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of z (default 0): the same seed, the same picture")
    p.add_argument("--condition", action="append", default=[], metavar="KEY=VALUE",
                   help="what to draw, e.g. label=3, label=Trouser or tags=red,hat (repeatable)")
    p.add_argument("--label", type=int_in(0, 2**31), help="class to draw: shorthand for --condition label=N")
    p.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                   help='a sentence to draw, e.g. "un grand carré bleu en bas" (repeatable: one grid row each)')
    p.add_argument("--prompts", metavar="FILE", help="a file of prompts, one per line")
    p.add_argument("--tags", action="append", default=[], metavar="A,B",
                   help='tags to draw, e.g. "blue hair,smile,hat" (repeatable: one grid row each)')
    p.add_argument("--out", required=True, help="output .png")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_sample)
    p = sub.add_parser("info", help="summary of a run directory")
    p.add_argument("run_dir", help="a directory made by gankit train")
    p.set_defaults(func=cmd_info)
    # Larger command families live beside their code; each adds its own sub-parser (light imports only).
    from gankit.dashboard.cli import add_subcommands as add_dashboard
    from gankit.evaluate.cli import add_subcommand as add_evaluate
    from gankit.expressivity.cli import add_subcommand as add_expressivity
    from gankit.inversion_cli import add_subcommands as add_inversion
    from gankit.translate import add_subcommand as add_translate

    add_evaluate(sub)
    add_expressivity(sub)
    add_translate(sub)
    add_inversion(sub)
    add_dashboard(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    warnings.showwarning = _one_line_warnings
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UserError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `gankit presets | head`: the reader left early, which is not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 1
    except (RuntimeError, MemoryError) as exc:  # torch's or numpy's allocator: the machine's limit, not a bug
        text = str(exc)
        if not (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
                or "can't allocate memory" in text or "out of memory" in text):
            raise
        print(f"gankit: error: out of memory ({text.splitlines()[0][:160]}); use smaller sizes", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only directory: the user's to fix, not a gankit bug
        print(f"gankit: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
