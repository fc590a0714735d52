"""`gankit quiz-report RUN [RUN ...] [--json]`: the quiz's scores, one row per run and protocol.

Reads RUN/quiz/pool.json and RUN/quiz/answers.jsonl only (no torch): the dashboard may call
`run_summary` for its quiz page. Only answers given on the run's current pool count; answers of a pool
made again with --force were moved to RUN/quiz/archive/ by `gankit quiz-prepare`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gankit.errors import UserError
from gankit.quiz.protocol import QuizError, load_pool, read_answers
from gankit.quiz.stats import CI_METHOD, score

REPORT_SCHEMA = "gankit-quiz-report/1"
HEADER = ("run", "protocol", "step", "participants", "trials", "HYPE∞ [95% CI]", "fooling rate [95% CI]",
          "real accuracy [95% CI]")


def run_summary(run_dir: Path, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """One run's quiz: {"run", "status": "ok" | "no pool" | "no answers", "pool": what the pool holds
    (no truths), "scores": stats.score(...) or None, "ignored": answers given on another pool, "note"}."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise UserError(f"{run_dir} is not a gankit run directory (no config.toml)")
    out: dict[str, Any] = {"run": str(run_dir), "status": "no pool", "pool": None, "scores": None, "ignored": 0,
                           "note": ""}
    try:
        pool = load_pool(run_dir)
    except QuizError as exc:
        out["note"] = str(exc)
        return out
    out["pool"] = {k: pool.get(k) for k in ("id", "kind", "game", "step", "sampled_with", "real_source", "n",
                                            "seed", "created")}
    every = read_answers(run_dir)
    answers = [a for a in every if a["pool"] == pool["id"]]
    out["ignored"] = len(every) - len(answers)
    if not any(not a["practice"] for a in answers):
        out["status"] = "no answers"
        out["note"] = ("no scored answers yet" + (f" ({len(answers)} practice answers)" if answers else "") +
                       "; open the dashboard's quiz page for this run")
        return out
    out["status"], out["scores"] = "ok", score(answers, n_boot=n_boot, seed=seed)
    return out


def quiz_report(runs: list[Path], as_json: bool) -> str:
    """The table comparing `runs` (or the same as JSON): one row per run and protocol."""
    summaries = [run_summary(Path(r)) for r in runs]
    if as_json:
        return json.dumps({"schema": REPORT_SCHEMA, "ci_method": CI_METHOD, "runs": summaries}, indent=1,
                          ensure_ascii=False)
    rows: list[tuple[str, ...]] = []
    for s in summaries:
        step = str(s["pool"]["step"]) if s["pool"] and s["pool"]["step"] is not None else "-"
        if s["status"] != "ok":
            rows.append((s["run"], "-", step, "0", "0", s["status"], "-", "-"))
            continue
        for key, sc in s["scores"]["by_protocol"].items():
            rows.append((s["run"], key, step, str(sc["participants"]), str(sc["trials"]), _pct(sc["hype_inf"]),
                         _pct(sc["fooling_rate"]), _pct(sc["real_accuracy"])))
    widths = [max(len(r[i]) for r in (HEADER, *rows)) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (HEADER, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{s['run']}: {s['note']}" for s in summaries if s["note"]]
    notes += [f"{s['run']}: {s['ignored']} answers given on another pool were left out" for s in summaries
              if s["ignored"]]
    lines += ["", "HYPE∞: error rate on an equal mix of real and fake (Zhou et al. 2019); 50% = people cannot tell,",
              "0% = they always can. Fooling rate: fakes answered \"real\" (pix2pix's \"% labeled real\"). Real",
              "accuracy: reals answered \"real\". Scored trials only. 95% intervals: percentile bootstrap over",
              "participants, then over each one's real and fake trials (with replacement).", *notes]
    return "\n".join(lines)


def report_cli(runs: list[str], as_json: bool) -> int:
    """`gankit quiz-report RUN [RUN ...] [--json]`: print the table (or JSON); 0, or UserError for a path
    that is not a run."""
    if not runs:
        raise UserError("give at least one run directory")
    print(quiz_report([Path(r) for r in runs], as_json))
    return 0


def _pct(est: dict) -> str:
    if est["value"] is None:
        return "-"
    if est["ci95"] is None:
        return f"{100 * est['value']:.1f}%"
    lo, hi = est["ci95"]
    return f"{100 * est['value']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
