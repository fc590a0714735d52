"""Property: whatever a user types, every command ends with status 0 or 2, never a traceback, and a
refused command (status 2) leaves every file as it was.

Hypothesis drives `gankit train | sample | evaluate | info | expressivity` in-process through their
argument parsers and the config, with values that are huge, tiny, negative, NaN, infinite, unicode,
empty or of the wrong type, mixed with small valid ones (so that accepted commands stay fast).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit import config as config_mod
from gankit import presets
from gankit.cli import main

NASTY = ["0", "-1", "-0", "1e308", "-1e308", "nan", "inf", "-inf", "99999999999999999999999", "2147483648",
         "abc", "", " ", "é", "🙂", "1.5", "0x10", "true", "None", "[1]", "../", "/", "\x00"]
SMALL = ["1", "2", "3", "0.5", "0.001"]
VALUE = st.sampled_from(NASTY + SMALL) | st.integers(-(10**25), 10**25).map(str) | st.text(max_size=6)
KEYS = sorted(config_mod.flatten(config_mod.build(presets.resolve("ring8-gan")[1]))) + ["nope", "game.blur",
                                                                                       "nets.E.width", "train"]
FAST = ["--set", "data.n_samples=500", "--set", "nets.G.width=8", "--set", "nets.D.width=8", "--set",
        "train.batch_size=16", "--set", "train.progress=false", "--set", "eval.n_samples=100", "--set",
        "train.threads=1", "--set", "train.minutes=0.01"]  # an accepted run stops within a second


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    assert main(["train", "ring8-gan", "--steps", "4", "--out", str(root / "toy"), *FAST]) == 0
    (root / "afile.txt").write_text("not a run")
    return root


def _commands(root: Path):
    run, out = str(root / "toy"), str(root / "new")
    train = st.tuples(st.sampled_from(KEYS), VALUE).map(
        lambda kv: ["train", "ring8-gan", *FAST, "--set", f"{kv[0]}={kv[1]}", "--steps", "2", "--out", out])
    steps = VALUE.map(lambda v: ["train", "ring8-gan", *FAST, "--steps", v, "--out", out])
    resume = VALUE.map(lambda v: ["train", "--resume", run, "--steps", v])
    sample = st.tuples(VALUE, VALUE, st.sampled_from(["--label", "--condition", "--seed"]), VALUE).map(
        lambda t: ["sample", run, "--n", t[0], "--seed", t[1], t[2], t[3], "--out", str(root / "s.png")])
    evaluate = st.tuples(VALUE, VALUE, st.sampled_from(["modes", "w2", "fid", "modes,w2", "", "x"])).map(
        lambda t: ["evaluate", run, "--n", t[0], "--seed", t[1], "--metrics", t[2], "--out", str(root / "e.json")])
    info = st.sampled_from([run, str(root / "afile.txt"), str(root / "missing"), str(root), "", "é"]).map(
        lambda p: ["info", p])
    regions = st.tuples(st.sampled_from(["sawtooth", "serra", "one-layer"]), VALUE, VALUE).map(
        lambda t: ["expressivity", "regions", "--construction", t[0], "--depth", t[1], "--width", t[2], "--json"])
    trajectory = st.tuples(VALUE, VALUE, VALUE).map(
        lambda t: ["expressivity", "trajectory", "--width", t[0], "--depth", t[1], "--sigma-w", t[2], "--json",
                   "--max-points", "2000"])
    fold = VALUE.map(lambda v: ["expressivity", "fold", "--folds", v, "--json"])
    return st.one_of(train, steps, resume, sample, evaluate, info, regions, trajectory, fold)


@pytest.mark.slow
def test_no_input_gives_a_traceback_and_a_refusal_writes_nothing(root: Path, monkeypatch) -> None:
    monkeypatch.chdir(root)

    @settings(max_examples=int(os.environ.get("GANKIT_FUZZ_EXAMPLES", "300")), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(argv=_commands(root))
    def check(argv: list[str]) -> None:
        before = _tree(root)
        if os.environ.get("GANKIT_FUZZ_LOG"):
            with open(os.environ["GANKIT_FUZZ_LOG"], "a") as fh:
                fh.write(repr(argv) + "\n")
        status = main(argv)  # an exception escaping main would be a traceback for the user: the test fails
        assert status in (0, 2), (argv, status)
        after = _tree(root)
        if status == 2:
            assert after == before, (argv, set(after) ^ set(before))
        for name in ("new", "s.png", "e.json"):  # a fresh place for the next command's outputs
            path = root / name
            if path.is_dir():
                import shutil

                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    check()
