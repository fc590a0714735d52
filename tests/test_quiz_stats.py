"""The quiz's scores (gankit.quiz.stats) on answers with known results, and properties of the bootstrap."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gankit.quiz.stats import score

FLIP = {"real": "fake", "fake": "real"}


def answers(people: int, reals: int = 20, fakes: int = 20, wrong_real: int = 0, wrong_fake: int = 0,
            protocol: str = "hype-inf", practice: int = 0, exposure_ms: int | None = None) -> list[dict]:
    """Each participant answers `reals` real and `fakes` fake scored trials, the first `wrong_*` wrongly,
    after `practice` practice trials answered wrongly (which must not count)."""
    exposure_ms = exposure_ms or (1000 if protocol == "timed" else None)  # the protocol's default
    out = []
    for p in range(people):
        trials = [("real", k < wrong_real) for k in range(reals)] + [("fake", k < wrong_fake) for k in range(fakes)]
        rows = [(t, True, True) for t in ("real", "fake") * (practice // 2)] + [(t, w, False) for t, w in trials]
        for i, (truth, wrong, is_practice) in enumerate(rows):
            out.append({"participant": f"p{p}", "protocol": protocol, "exposure_ms": exposure_ms,
                        "session_seed": 1, "trial": i, "practice": is_practice, "item": f"{i:016x}",
                        "truth": truth, "answer": FLIP[truth] if wrong else truth, "response_ms": 900})
    return out


def value_ci(s: dict, key: str) -> tuple[float, list[float]]:
    return s[key]["value"], s[key]["ci95"]


def test_all_correct_is_zero_and_all_wrong_is_one() -> None:
    right = score(answers(3, practice=10))
    assert value_ci(right, "hype_inf") == (0.0, [0.0, 0.0]) and value_ci(right, "fooling_rate") == (0.0, [0.0, 0.0])
    assert value_ci(right, "real_accuracy") == (1.0, [1.0, 1.0])
    wrong = score(answers(3, wrong_real=20, wrong_fake=20))
    assert value_ci(wrong, "hype_inf") == (1.0, [1.0, 1.0]) and wrong["fooling_rate"]["value"] == 1.0
    assert wrong["real_accuracy"]["value"] == 0.0


def test_answering_real_every_time_is_chance() -> None:
    s = score(answers(4, wrong_fake=20))  # every fake called real, every real called real
    assert value_ci(s, "hype_inf") == (0.5, [0.5, 0.5])
    assert s["fooling_rate"]["value"] == 1.0 and s["real_accuracy"]["value"] == 1.0
    uneven = score(answers(2, reals=7, fakes=20, wrong_fake=20))  # sessions cut short: the balanced rate stays 50%
    assert uneven["hype_inf"]["value"] == 0.5


def test_practice_trials_never_count_and_counts_are_reported() -> None:
    s = score(answers(3, practice=10))
    assert (s["trials"], s["real_trials"], s["fake_trials"], s["participants"], s["sessions"]) == (120, 60, 60, 3, 1 * 3)


def test_a_known_mix_gives_its_rates() -> None:
    s = score(answers(5, wrong_real=4, wrong_fake=10))  # 20% of reals called fake, 50% of fakes called real
    assert abs(s["fooling_rate"]["value"] - 0.5) < 1e-12 and abs(s["real_accuracy"]["value"] - 0.8) < 1e-12
    assert abs(s["hype_inf"]["value"] - 0.35) < 1e-12


def test_intervals_narrow_with_more_participants_and_more_trials() -> None:
    def width(s: dict) -> float:
        lo, hi = s["hype_inf"]["ci95"]
        assert lo <= s["hype_inf"]["value"] <= hi
        return hi - lo

    few = width(score(answers(4, wrong_real=6, wrong_fake=8)))
    many_people = width(score(answers(40, wrong_real=6, wrong_fake=8)))
    many_trials = width(score(answers(4, reals=200, fakes=200, wrong_real=60, wrong_fake=80)))
    assert many_people < few / 2 and many_trials < few / 2


def test_participants_who_disagree_widen_the_interval() -> None:
    """Two people, one always right and one always wrong: the first stage (participants) carries the doubt."""
    s = score(answers(1) + [dict(a, participant="q", answer=FLIP[a["truth"]]) for a in answers(1)])
    lo, hi = s["hype_inf"]["ci95"]
    assert s["hype_inf"]["value"] == 0.5 and lo == 0.0 and hi == 1.0


def test_protocols_are_split() -> None:
    s = score(answers(2, wrong_fake=20) + answers(3, protocol="timed") + answers(1, protocol="timed", exposure_ms=500))
    assert set(s["by_protocol"]) == {"hype-inf", "timed", "timed-500ms"}
    assert s["by_protocol"]["hype-inf"]["hype_inf"]["value"] == 0.5
    assert s["by_protocol"]["timed"]["hype_inf"]["value"] == 0.0 and s["by_protocol"]["timed"]["participants"] == 3


def test_no_answers_and_missing_kinds_give_none() -> None:
    empty = score([])
    assert empty["trials"] == 0 and empty["hype_inf"] == {"value": None, "ci95": None} and empty["by_protocol"] == {}
    only_reals = score(answers(2, fakes=0))
    assert only_reals["fooling_rate"]["value"] is None and only_reals["hype_inf"]["value"] is None
    assert only_reals["real_accuracy"]["value"] == 1.0


def test_the_same_answers_give_the_same_interval() -> None:
    a = answers(6, wrong_real=3, wrong_fake=9)
    assert score(a, seed=3) == score(a, seed=3)


TALLY = st.lists(st.tuples(st.integers(1, 25), st.integers(1, 25), st.floats(0, 1), st.floats(0, 1)),
                 min_size=1, max_size=8)


def from_tally(tally: list[tuple[int, int, float, float]]) -> list[dict]:
    out = []
    for p, (reals, fakes, fr, ff) in enumerate(tally):
        out += [dict(a, participant=f"p{p}") for a in answers(1, reals, fakes, round(fr * reals), round(ff * fakes))]
    return out


@settings(max_examples=60, deadline=None, derandomize=True)
@given(TALLY)
def test_properties_of_any_answers(tally) -> None:
    a = from_tally(tally)
    s = score(a, n_boot=400)
    h, f, r = (s[k]["value"] for k in ("hype_inf", "fooling_rate", "real_accuracy"))
    assert abs(h - (f + 1 - r) / 2) < 1e-12
    for key in ("hype_inf", "fooling_rate", "real_accuracy"):
        lo, hi = s[key]["ci95"]
        assert 0 <= lo <= s[key]["value"] <= hi <= 1
    flipped = score([dict(x, answer=FLIP[x["answer"]]) for x in a], n_boot=50)
    assert abs(flipped["hype_inf"]["value"] - (1 - h)) < 1e-12  # every answer turned: the error rate turns too
