"""The quiz's protocols, session plans and answer log (gankit.quiz.protocol): the plan's mix and order,
what the client may see, and every way an answer can be refused."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gankit.errors import UserError
from gankit.quiz import protocol as P
from gankit.quiz.protocol import QuizError, plan, record_answer, validate_name


def make_pool(run: Path, reals: int = 30, fakes: int = 30, pool_id: str = "00000000000000aa") -> dict:
    """A pool.json with the given counts (no pictures: the protocol never opens them)."""
    items = [{"id": f"{i:016x}", "truth": "real" if i < reals else "fake"} for i in range(reals + fakes)]
    pool = {"schema": P.POOL_SCHEMA, "id": pool_id, "kind": "images", "items": items}
    (run / "quiz").mkdir(parents=True, exist_ok=True)
    (run / "quiz" / "pool.json").write_text(json.dumps(pool))
    (run / "config.toml").touch()
    return pool


@pytest.fixture
def run(tmp_path: Path) -> Path:
    make_pool(tmp_path)
    return tmp_path


def lines(run: Path) -> list[dict]:
    path = run / "quiz" / "answers.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


# ---- protocols and names ---------------------------------------------------------------------------
def test_the_two_protocols_as_published() -> None:
    hype, timed = P.PROTOCOLS["hype-inf"], P.PROTOCOLS["timed"]
    assert hype.exposure_ms is None and timed.exposure_ms == 1000  # HYPE-inf: no limit; pix2pix: 1 s
    for p in (hype, timed):
        assert (p.practice, p.scored, p.practice_feedback, p.scored_feedback) == (10, 40, True, False)
    assert P.get_protocol("timed", 500).exposure_ms == 500 and P.get_protocol("timed", 500).key == "timed-500ms"
    assert P.get_protocol("timed").key == "timed" and P.get_protocol("hype-inf").key == "hype-inf"


@pytest.mark.parametrize("name,ms", [("timed", 99), ("timed", 10_001), ("timed", 1.5), ("timed", True),
                                     ("timed", "500"), ("hype-inf", 500), ("hype", None), ("", None), (None, None)])
def test_bad_protocols_and_exposures_are_refused(name, ms) -> None:
    with pytest.raises(QuizError):
        P.get_protocol(name, ms)


@pytest.mark.parametrize("name,kept", [("Ann", "Ann"), ("  Ann ", "Ann"), ("José Pérez", "José Pérez"),
                                       ("a.b-c_d 9", "a.b-c_d 9"), ("x" * 40, "x" * 40), ("李雷", "李雷"),
                                       ("Jose\u0301", "José")])
def test_good_names_are_kept_normalised(name: str, kept: str) -> None:
    assert validate_name(name) == kept


@pytest.mark.parametrize("name", ["", "   ", "x" * 41, "Ann<script>", "a/b", "../etc", "a\nb", "a\tb", "😀",
                                  "\x00", "a;b", "Ann\u202e", 5, None, b"Ann"])
def test_odd_names_are_refused_with_a_value_error(name) -> None:
    with pytest.raises(ValueError) as exc:
        validate_name(name)
    assert isinstance(exc.value, UserError) and "\n" not in str(exc.value) and len(str(exc.value)) < 200


# ---- plans -----------------------------------------------------------------------------------------
def test_a_plan_mixes_real_and_fake_evenly_in_each_part_without_repeats(run: Path) -> None:
    pool = P.load_pool(run)
    for protocol in P.PROTOCOLS:
        trials = plan(pool, "Ann", protocol, 7)
        assert [t.index for t in trials] == list(range(50))
        practice, scored = trials[:10], trials[10:]
        assert all(t.practice and t.feedback for t in practice) and not any(t.practice or t.feedback for t in scored)
        assert sum(t.truth == "real" for t in practice) == 5 and sum(t.truth == "real" for t in scored) == 20
        assert len({t.item for t in trials}) == 50
        truth = {it["id"]: it["truth"] for it in pool["items"]}
        assert all(truth[t.item] == t.truth for t in trials)


def test_a_plan_is_a_pure_function_of_pool_participant_protocol_and_seed(run: Path) -> None:
    pool = P.load_pool(run)
    first = [t.item for t in plan(pool, "Ann", "timed", 7)]
    assert first == [t.item for t in plan(pool, " Ann", "timed", 7)]
    for other in (plan(pool, "Bob", "timed", 7), plan(pool, "Ann", "timed", 8), plan(pool, "Ann", "hype-inf", 7)):
        assert [t.item for t in other] != first
    # SHA-256 keys, not an RNG: the same order in every process and version (answers recompute it later)
    assert first[:3] == ["0000000000000036", "0000000000000003", "0000000000000008"]


def test_a_timed_plan_carries_its_exposure(run: Path) -> None:
    pool = P.load_pool(run)
    assert {t.exposure_ms for t in plan(pool, "Ann", "timed", 1, 250)} == {250}
    assert {t.exposure_ms for t in plan(pool, "Ann", "hype-inf", 1)} == {None}


def test_a_pool_too_small_is_refused_clearly(tmp_path: Path) -> None:
    pool = make_pool(tmp_path, reals=24, fakes=100)
    with pytest.raises(QuizError, match="needs 25 real and 25 fake pictures, it has 24 real, 100 fake"):
        plan(pool, "Ann", "hype-inf", 1)


def test_the_public_plan_holds_no_truth(run: Path) -> None:
    view = P.public_plan(P.load_pool(run), "Ann", "timed", 3)
    assert len(view["trials"]) == 50 and view["protocol"]["exposure_ms"] == 1000
    text = json.dumps(view)
    assert "truth" not in text and '"real"' not in text and '"fake"' not in text


@pytest.mark.parametrize("seed", [-1, 2**53, 1.0, "1", True, None])
def test_bad_session_seeds_are_refused(run: Path, seed) -> None:
    with pytest.raises(QuizError, match="session seed"):
        plan(P.load_pool(run), "Ann", "timed", seed)


# ---- the pool file ---------------------------------------------------------------------------------
def test_a_missing_pool_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(QuizError, match=r"has no quiz pool .*gankit quiz-prepare"):
        P.load_pool(tmp_path)
    with pytest.raises(QuizError, match="no quiz pool"):
        record_answer(tmp_path, "Ann", "timed", 1, 0, "real", 500)


@pytest.mark.parametrize("text", ["{", "[]", '{"schema": "other"}', "null",
                                  json.dumps({"schema": P.POOL_SCHEMA, "id": "0" * 16, "kind": "images",
                                              "items": [{"id": "../../etc/passwd", "truth": "real"}]}),
                                  json.dumps({"schema": P.POOL_SCHEMA, "id": "0" * 16, "kind": "images",
                                              "items": [{"id": "0" * 16, "truth": "maybe"}]}),
                                  json.dumps({"schema": P.POOL_SCHEMA, "id": "0" * 16, "kind": "video",
                                              "items": [{"id": "0" * 16, "truth": "real"}]})])
def test_a_broken_pool_is_one_line(run: Path, text: str) -> None:
    (run / "quiz" / "pool.json").write_text(text)
    with pytest.raises(QuizError) as exc:
        P.load_pool(run)
    assert "\n" not in str(exc.value) and "quiz-prepare --force" in str(exc.value)


def test_item_paths_come_only_from_the_pool(run: Path) -> None:
    pool = P.load_pool(run)
    assert P.item_path(run, pool, "0000000000000001") == run / "quiz" / "pool" / "0000000000000001.png"
    for bad in ("ffffffffffffffff", "../pool.json", "0000000000000001/../../x", "", None, 3):
        with pytest.raises(QuizError):
            P.item_path(run, pool, bad)


# ---- answers ---------------------------------------------------------------------------------------
def test_practice_answers_get_feedback_and_scored_ones_none(run: Path) -> None:
    trials = plan(P.load_pool(run), "Ann", "timed", 11)
    for t in trials:
        out = record_answer(run, "Ann", "timed", 11, t.index, "real", 640.4)
        assert out["feedback"] == (t.truth if t.practice else None) and out["answered"] == t.index + 1
    rows = lines(run)
    assert len(rows) == 50
    row = rows[12]
    assert set(row) == {"schema", "pool", "participant", "protocol", "exposure_ms", "session_seed", "trial",
                        "practice", "item", "truth", "answer", "response_ms", "time"}
    assert (row["participant"], row["protocol"], row["exposure_ms"], row["session_seed"], row["trial"],
            row["practice"], row["item"], row["truth"], row["answer"], row["response_ms"]) == \
        ("Ann", "timed", 1000, 11, 12, False, trials[12].item, trials[12].truth, "real", 640)
    assert P.read_answers(run) == rows and P.read_answers(run, "ffffffffffffffff") == []


def test_a_replayed_trial_is_refused_and_participants_are_kept_apart(run: Path) -> None:
    record_answer(run, "Ann", "hype-inf", 5, 3, "fake", 900)
    with pytest.raises(QuizError, match="answered already"):
        record_answer(run, "Ann", "hype-inf", 5, 3, "real", 900)
    with pytest.raises(QuizError, match="answered already"):
        record_answer(run, " Ann ", "hype-inf", 5, 3, "fake", 10)  # the same name, as kept
    record_answer(run, "Bob", "hype-inf", 5, 3, "real", 900)  # another participant, same seed
    record_answer(run, "Ann", "hype-inf", 6, 3, "real", 900)  # another session
    record_answer(run, "Ann", "timed", 5, 3, "real", 900)  # another protocol
    assert len(lines(run)) == 4


def test_racing_requests_on_one_trial_land_once(run: Path) -> None:
    barrier, results = threading.Barrier(8), []

    def answer() -> None:
        barrier.wait()
        try:
            results.append(record_answer(run, "Ann", "timed", 2, 20, "fake", 700))
        except QuizError:
            results.append(None)

    threads = [threading.Thread(target=answer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1 and len(lines(run)) == 1


@pytest.mark.parametrize("field,value,message", [
    ("answer", "REAL", "'real' or 'fake'"), ("answer", "yes", "'real' or 'fake'"), ("answer", None, "'real' or 'fake'"),
    ("answer", 1, "'real' or 'fake'"), ("answer", "real" * 10_000, "'real' or 'fake'"),
    ("response_ms", -1, "response time"), ("response_ms", float("nan"), "response time"),
    ("response_ms", float("inf"), "response time"), ("response_ms", True, "response time"),
    ("response_ms", "100", "response time"), ("response_ms", 3_600_001, "response time"),
    ("trial_index", 50, "trial index"), ("trial_index", -1, "trial index"), ("trial_index", 1.0, "trial index"),
    ("trial_index", "0", "trial index"), ("trial_index", 10**100, "trial index"),
    ("participant", "x" * 10_000, "1 to 40"), ("participant", "<img src=x>", "may hold"),
    ("protocol", "hype", "unknown quiz protocol"), ("session_seed", -5, "session seed"),
])
def test_bad_answers_are_one_line_and_write_nothing(run: Path, field: str, value, message: str) -> None:
    args = {"participant": "Ann", "protocol": "timed", "session_seed": 1, "trial_index": 0, "answer": "real",
            "response_ms": 500} | {field: value}
    with pytest.raises(QuizError, match=message) as exc:
        record_answer(run, **args)
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 200  # an oversize value is never echoed whole
    assert lines(run) == []


def test_an_answer_on_a_pool_made_again_is_refused(run: Path) -> None:
    with pytest.raises(QuizError, match="made again"):
        record_answer(run, "Ann", "timed", 1, 0, "real", 500, pool_id="00000000000000bb")
    assert record_answer(run, "Ann", "timed", 1, 0, "real", 500, pool_id="00000000000000aa")["practice"]


def test_lines_are_bounded_and_a_full_log_refuses(run: Path, monkeypatch) -> None:
    widest = "𝐀" * 40  # 4 bytes each in UTF-8: the longest name a line can carry
    record_answer(run, widest, "timed", P.SEED_LIMIT - 1, 49, "fake", P.RESPONSE_MAX_MS, exposure_ms=10_000)
    size = (run / "quiz" / "answers.jsonl").stat().st_size
    assert size <= P.MAX_LINE_BYTES
    monkeypatch.setattr(P, "MAX_ANSWERS_BYTES", size + 10)
    with pytest.raises(QuizError, match="is full"):
        record_answer(run, "Ann", "timed", 1, 0, "real", 500)


def test_a_torn_line_is_skipped_and_the_next_answer_stays_whole(run: Path) -> None:
    record_answer(run, "Ann", "timed", 1, 0, "real", 500)
    with open(run / "quiz" / "answers.jsonl", "a") as fh:
        fh.write('{"schema": "gankit-quiz-answer/1", "participant": "Ann", "tri')  # a writer killed mid-line
    record_answer(run, "Ann", "timed", 1, 1, "fake", 500)
    assert [r["trial"] for r in P.read_answers(run)] == [0, 1]


def test_the_web_servers_modules_load_without_torch() -> None:
    code = ("import sys; import gankit.quiz.protocol, gankit.quiz.stats, gankit.quiz.report; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
