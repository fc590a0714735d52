"""The "Real or fake?" quiz (issue #16): its two protocols as data, the order of a session's trials,
the pool of pictures and the answer log. Standard library only: the dashboard's web server imports it,
and it must start without torch.

    HYPE-inf  Zhou et al., NeurIPS 2019, "HYPE: A Benchmark for Human eYe Perceptual Evaluation of
              Generative Models": each picture stays until the participant answers.
    timed     Isola et al., CVPR 2017 (pix2pix), section 4.2: each picture is shown for a fixed time
              (1 s), then hidden, and the participant answers.
    Both: 10 practice trials with feedback, then 40 scored trials without; half real, half fake in each part.

The truth of a scored trial never leaves the server: `plan` is recomputed from (pool, participant,
protocol, session seed) on every answer, so the client holds only item ids and pictures (`public_plan`).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gankit.errors import UserError

POOL_SCHEMA = "gankit-quiz-pool/1"
ANSWER_SCHEMA = "gankit-quiz-answer/1"
QUIZ_DIR = "quiz"
POOL_FILE = "pool.json"  # RUN/quiz/pool.json: holds the truth; never served to a participant
POOL_IMAGES = "pool"  # RUN/quiz/pool/<id>.png: the only quiz files a participant may fetch
ANSWERS_FILE = "answers.jsonl"
ANSWERS = ("real", "fake")
ITEM_ID = re.compile(r"[0-9a-f]{16}")  # random, so a file name says nothing about its picture
EXPOSURE_RANGE_MS = (100, 10_000)  # HYPE-time's staircase spans 100-1000 ms; pix2pix used 1000
RESPONSE_MAX_MS = 3_600_000  # an hour: HYPE-inf has no time limit, but a number must have a bound
SEED_LIMIT = 2**53  # session seeds travel through JavaScript, whose integers are exact below 2^53
NAME_MAX = 40
NAME_PUNCTUATION = frozenset(" -_.")
MAX_LINE_BYTES = 1024  # one answer line; the fields above keep a real one near 350 bytes
MAX_ANSWERS_BYTES = 16 * 2**20  # ~50,000 answers; each answer reads the log to refuse a replay
MAX_POOL_ITEMS = 20_000


class QuizError(UserError, ValueError):
    """Bad quiz input: one line. A UserError for the CLI (exit 2), a ValueError for the web server (400)."""


@dataclass(frozen=True)
class Protocol:
    name: str
    title: str
    source: str
    exposure_ms: int | None  # None: the picture stays until the answer
    practice: int = 10  # trials with feedback, not scored
    scored: int = 40  # trials without feedback
    practice_feedback: bool = True
    scored_feedback: bool = False

    @property
    def trials(self) -> int:
        return self.practice + self.scored

    @property
    def key(self) -> str:
        """The name results are grouped by: a timed session at another exposure is another condition."""
        default = PROTOCOLS[self.name].exposure_ms
        return self.name if self.exposure_ms == default else f"{self.name}-{self.exposure_ms}ms"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "key": self.key, "title": self.title, "source": self.source,
                "exposure_ms": self.exposure_ms, "practice": self.practice, "scored": self.scored,
                "practice_feedback": self.practice_feedback, "scored_feedback": self.scored_feedback}


PROTOCOLS: dict[str, Protocol] = {
    "hype-inf": Protocol("hype-inf", "HYPE-inf: no time limit",
                         "Zhou et al., NeurIPS 2019 (HYPE), the HYPE-inf variant", exposure_ms=None),
    "timed": Protocol("timed", "Timed: each picture shown for 1 s", "Isola et al., CVPR 2017 (pix2pix), section 4.2",
                      exposure_ms=1000),
}


def get_protocol(name: str, exposure_ms: int | None = None) -> Protocol:
    """The named protocol; `exposure_ms` overrides the timed protocol's exposure within EXPOSURE_RANGE_MS."""
    if not isinstance(name, str) or name not in PROTOCOLS:
        raise QuizError(f"unknown quiz protocol {name!r}; expected one of: {', '.join(PROTOCOLS)}")
    protocol = PROTOCOLS[name]
    if exposure_ms is None:
        return protocol
    if protocol.exposure_ms is None:
        raise QuizError(f"protocol {name!r} has no time limit: it takes no exposure time")
    lo, hi = EXPOSURE_RANGE_MS
    if not _is_int(exposure_ms) or not lo <= exposure_ms <= hi:
        raise QuizError(f"exposure must be an integer number of milliseconds in [{lo}, {hi}], got {exposure_ms!r}")
    return replace(protocol, exposure_ms=int(exposure_ms))


def validate_name(name: str) -> str:
    """A participant's name as kept: NFC, surrounding spaces removed, 1-40 characters of letters, digits,
    space, '-', '_' and '.'. Names only tell participants apart; they never become paths."""
    if not isinstance(name, str):
        raise QuizError(f"a participant's name must be text, got {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name).strip(" ")
    if not 1 <= len(clean) <= NAME_MAX:
        raise QuizError(f"a participant's name must have 1 to {NAME_MAX} characters, got {len(clean)}")
    bad = next((c for c in clean if not (c.isalpha() or c in "0123456789" or c in NAME_PUNCTUATION)), None)
    if bad is not None:
        raise QuizError(f"a participant's name may hold letters, digits, space, '-', '_' and '.', not {bad!r}")
    return clean


def new_session_seed() -> int:
    """A fresh session seed for the web server to hand a participant."""
    return secrets.randbelow(SEED_LIMIT)


@dataclass(frozen=True)
class Trial:
    index: int
    item: str  # the picture's id: RUN/quiz/pool/<item>.png
    truth: str  # "real" or "fake": server side only
    practice: bool
    feedback: bool  # whether the answer is followed by the truth
    exposure_ms: int | None

    def public(self) -> dict[str, Any]:
        """What the client may know before answering: everything but the truth."""
        return {"index": self.index, "item": self.item, "practice": self.practice, "feedback": self.feedback,
                "exposure_ms": self.exposure_ms}


def plan(pool: dict, participant: str, protocol: str, session_seed: int,
         exposure_ms: int | None = None) -> list[Trial]:
    """A session's trials: practice first, then scored, each part half real and half fake in a seeded
    random order, no item twice. The order is a sort by SHA-256 keys, not a library RNG, so it is the same
    in every process and version: answers recompute it long after the page was served."""
    p = get_protocol(protocol, exposure_ms)
    name = validate_name(participant)
    seed = _session_seed(session_seed)
    salt = (pool["id"], name, p.name, seed)

    def ranked(ids: list[str], what: str) -> list[str]:
        return sorted(ids, key=lambda i: _key(what, *salt, i))

    by_truth = {t: ranked([it["id"] for it in pool["items"] if it["truth"] == t], f"pick-{t}") for t in ANSWERS}
    half_p, half_s = p.practice // 2, p.scored // 2
    need = half_p + half_s
    short = [t for t in ANSWERS if len(by_truth[t]) < need]
    if short:
        have = ", ".join(f"{len(by_truth[t])} {t}" for t in ANSWERS)
        raise QuizError(f"the quiz pool is too small for a {p.name} session: it needs {need} real and {need} fake "
                        f"pictures, it has {have}; make a larger one with gankit quiz-prepare RUN --n N --force")
    truth = {i: t for t, ids in by_truth.items() for i in ids}
    practice = ranked(by_truth["real"][:half_p] + by_truth["fake"][:half_p], "order-practice")
    scored = ranked(by_truth["real"][half_p:need] + by_truth["fake"][half_p:need], "order-scored")
    return [Trial(k, item, truth[item], k < len(practice), p.practice_feedback if k < len(practice)
                  else p.scored_feedback, p.exposure_ms) for k, item in enumerate(practice + scored)]


def public_plan(pool: dict, participant: str, protocol: str, session_seed: int,
                exposure_ms: int | None = None) -> dict[str, Any]:
    """The session as the web page gets it: the protocol and each trial's item, with no truth."""
    p = get_protocol(protocol, exposure_ms)
    trials = plan(pool, participant, protocol, session_seed, exposure_ms)
    return {"pool": pool["id"], "kind": pool["kind"], "participant": validate_name(participant),
            "session_seed": session_seed, "protocol": p.to_dict(), "trials": [t.public() for t in trials]}


# ---- the pool ------------------------------------------------------------------------------------
def quiz_dir(run_dir: Path) -> Path:
    return Path(run_dir) / QUIZ_DIR


def load_pool(run_dir: Path) -> dict:
    """RUN/quiz/pool.json, checked: schema, kind, unique random item ids, truths. One line if not."""
    path = quiz_dir(run_dir) / POOL_FILE
    if not path.is_file():
        raise QuizError(f"{run_dir} has no quiz pool ({path} is missing); make one with: gankit quiz-prepare {run_dir}")
    try:
        pool = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise QuizError(f"{path} cannot be read as JSON ({exc}); make it again with gankit quiz-prepare --force") from None
    problem = _pool_problem(pool)
    if problem:
        raise QuizError(f"{path} is not a {POOL_SCHEMA} pool: {problem}; make it again with gankit quiz-prepare --force")
    return pool


def _pool_problem(pool: Any) -> str:
    if not isinstance(pool, dict) or pool.get("schema") != POOL_SCHEMA:
        return "wrong or missing schema"
    if not isinstance(pool.get("id"), str) or not ITEM_ID.fullmatch(pool["id"]):
        return "no pool id"
    if pool.get("kind") not in ("images", "points"):
        return f"kind {pool.get('kind')!r} is neither images nor points"
    items = pool.get("items")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_POOL_ITEMS:
        return f"items must be a list of 1 to {MAX_POOL_ITEMS:,} pictures"
    for it in items:
        if not (isinstance(it, dict) and isinstance(it.get("id"), str) and ITEM_ID.fullmatch(it["id"])
                and it.get("truth") in ANSWERS):
            return f"item {it!r} is not {{'id': 16 hex digits, 'truth': 'real' or 'fake'}}"
    if len({it["id"] for it in items}) != len(items):
        return "item ids repeat"
    return ""


def item_path(run_dir: Path, pool: dict, item: str) -> Path:
    """The picture of a pool item, for the web server: ids outside the pool are refused, so no
    client string ever becomes part of a path."""
    if not isinstance(item, str) or not ITEM_ID.fullmatch(item) or all(it["id"] != item for it in pool["items"]):
        raise QuizError(f"no picture {str(item)[:40]!r} in this quiz pool")
    return quiz_dir(run_dir) / POOL_IMAGES / f"{item}.png"


# ---- answers -------------------------------------------------------------------------------------
def record_answer(run_dir: Path, participant: str, protocol: str, session_seed: int, trial_index: int,
                  answer: str, response_ms: int | float, *, exposure_ms: int | None = None,
                  pool_id: str | None = None) -> dict[str, Any]:
    """Check one answer against the recomputed plan and append it to RUN/quiz/answers.jsonl under a file
    lock. Returns {"feedback": truth} on practice trials, {"feedback": None} on scored ones, with
    "practice", "answered" (this session's answers so far) and "trials". A second answer to the same
    (participant, protocol, session seed, trial) is refused; `pool_id`, when given, must be the current
    pool's (a pool remade mid-session would give the indices other pictures)."""
    p = get_protocol(protocol, exposure_ms)
    name = validate_name(participant)
    seed = _session_seed(session_seed)
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise QuizError(f"an answer is 'real' or 'fake', got {str(answer)[:40]!r}")
    if isinstance(response_ms, bool) or not isinstance(response_ms, (int, float)) or not math.isfinite(response_ms) \
            or not 0 <= response_ms <= RESPONSE_MAX_MS:
        raise QuizError(f"response time must be a number of milliseconds in [0, {RESPONSE_MAX_MS}], "
                        f"got {str(response_ms)[:40]!r}")
    pool = load_pool(run_dir)
    if pool_id is not None and pool_id != pool["id"]:
        raise QuizError("the quiz pool was made again since this session began; start a new session")
    trials = plan(pool, name, p.name, seed, exposure_ms)
    if not _is_int(trial_index) or not 0 <= trial_index < len(trials):
        raise QuizError(f"trial index must be an integer in [0, {len(trials) - 1}], got {str(trial_index)[:40]!r}")
    trial = trials[trial_index]
    record = {"schema": ANSWER_SCHEMA, "pool": pool["id"], "participant": name, "protocol": p.name,
              "exposure_ms": p.exposure_ms, "session_seed": seed, "trial": int(trial_index),
              "practice": trial.practice, "item": trial.item, "truth": trial.truth, "answer": answer,
              "response_ms": int(round(response_ms)),
              "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    if len(line) > MAX_LINE_BYTES:
        raise QuizError(f"this answer would take {len(line)} bytes; a line holds at most {MAX_LINE_BYTES}")
    session = (name, p.name, seed)
    answered = _append_once(quiz_dir(run_dir) / ANSWERS_FILE, line, session, int(trial_index))
    return {"feedback": trial.truth if trial.feedback else None, "practice": trial.practice,
            "answered": answered, "trials": len(trials)}


def _append_once(path: Path, line: bytes, session: tuple[str, str, int], trial: int) -> int:
    """Append `line` unless the session already answered `trial`; the check and the write happen under
    one exclusive lock, so two requests racing on one trial cannot both land. Returns the session's
    answers, this one included."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size + len(line) > MAX_ANSWERS_BYTES:
            raise QuizError(f"{path} is full ({size:,} bytes); archive it and start a new pool with gankit quiz-prepare --force")
        data = os.pread(fd, size, 0) if size else b""
        done = {r["trial"] for r in _parse(data) if (r["participant"], r["protocol"], r["session_seed"]) == session}
        if trial in done:
            raise QuizError(f"trial {trial} of this session was answered already")
        if data and not data.endswith(b"\n"):
            line = b"\n" + line  # a line torn by a killed writer: end it, so this one stays whole
        os.write(fd, line)
        os.fsync(fd)
        return len(done) + 1
    finally:
        os.close(fd)  # closing drops the lock


def read_answers(run_dir: Path, pool_id: str | None = None) -> list[dict]:
    """Every well-formed answer in RUN/quiz/answers.jsonl (torn or foreign lines are skipped), only those
    given on pool `pool_id` when it is set. [] when nobody has answered."""
    path = quiz_dir(run_dir) / ANSWERS_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [r for r in _parse(data) if pool_id is None or r["pool"] == pool_id]


_FIELDS = {"pool": str, "participant": str, "protocol": str, "session_seed": int, "trial": int, "practice": bool,
           "item": str, "truth": str, "answer": str, "response_ms": int}


def _parse(data: bytes) -> list[dict]:
    out = []
    for raw in data.split(b"\n"):
        try:
            r = json.loads(raw)
        except ValueError:
            continue
        if (isinstance(r, dict) and r.get("schema") == ANSWER_SCHEMA
                and all(isinstance(r.get(k), t) for k, t in _FIELDS.items())
                and r["truth"] in ANSWERS and r["answer"] in ANSWERS):
            out.append(r)
    return out


# ---- helpers -------------------------------------------------------------------------------------
def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _session_seed(seed: Any) -> int:
    if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise QuizError(f"session seed must be an integer in [0, 2^53), got {str(seed)[:40]!r}")
    return int(seed)


def _key(*parts: Any) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
