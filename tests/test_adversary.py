"""Issue #12's defects, one regression test each: what a new user or an adversary typed, and the one
line (exit 2, nothing written) or the honest result that gankit now gives. tests/test_run_lock.py has
the two-writers case; tests/test_fuzz_cli.py drives the same commands with generated values."""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.train import checkpoint
from gankit.train.rundir import METRICS_FILE, read_rows
from tests.test_fuzz_cli import FAST, _tree

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adversary")
    assert main(["train", "ring8-gan", "--steps", "4", "--out", str(root / "toy"), *FAST]) == 0
    (root / "three").mkdir()
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(root / "three" / f"{i}.png")
    np.save(root / "scalar.npy", np.float32(3.0))
    (root / "text.npy").write_text("hello")
    (root / "dir.toml").mkdir()
    (root / "out.png").mkdir()
    (root / "lists").mkdir()
    (root / "lists" / "config.toml").write_text((root / "toy" / "config.toml").read_text())
    (root / "lists" / "scores.json").write_text("[1, 2, 3]")
    for name, damage in (("emptycfg", "config"), ("corrupt", "checkpoints"), ("badjson", "scores"), ("dead", "dead")):
        shutil.copytree(root / "toy", root / name)
        if damage == "config":
            (root / name / "config.toml").write_text("")
        elif damage == "checkpoints":
            for ckpt in (root / name / "checkpoints").glob("*.pt"):
                ckpt.write_bytes(ckpt.read_bytes()[:1000])
        elif damage == "scores":
            (root / name / "scores.json").write_text("{nope")
        else:
            shutil.rmtree(root / name / "checkpoints")
    (root / "junk").mkdir()
    for i in range(3):
        (root / "junk" / f"{i}.png").write_text("not an image")
    (root / "wrongtype.toml").write_text("[game]\nname = 3\n")
    (root / "netsval.toml").write_text("nets = 5\n")
    (root / "afile").write_text("")
    os.mkfifo(root / "fifo.npy")
    np.save(root / "zeros.npy", np.zeros((60, 8, 8), dtype=np.float16))
    (root / "taken.html").write_text("a report to keep")
    (root / "dangling").symlink_to(root / "nowhere")
    (root / "nul.toml").write_text('[data]\nname = "ring8\\u0000"\n')
    return root


def _cases(r: Path) -> list[tuple[str, list[str], str]]:
    toy, new = str(r / "toy"), str(r / "new")
    train = ["train", "ring8-gan", *FAST, "--out", new, "--set"]
    return [
        ("3 lr 1e300", [*train, "optim.D.lr=1e300"], "expected a number in (0, 10]"),
        ("3 huge seed", [*train, "seed=99999999999999999999999"], "expected an integer in [0, 2^63)"),
        ("3 huge sample seed", ["sample", toy, "--seed", "99999999999999999999999", "--out", str(r / "s.png")],
         "out of range"),
        ("3 huge batch", [*train, "train.batch_size=1000000000"], "one training step needs about"),
        ("3 huge width", [*train, "nets.G.width=10000000"], "an integer in [1, 1000000]"),
        ("3 wide but in range", [*train, "nets.G.width=900000"], "lower nets.*.width"),
        ("3 huge sample n", ["sample", toy, "--n", "100000000", "--out", str(r / "s.png")], "out of range"),
        ("3 huge evaluate n", ["evaluate", toy, "--n", "200000000"], "out of range"),
        ("3 three fakes", ["evaluate", "--fake", str(r / "three"), "--real", "digits"], "needs at least 50"),
        ("3 scalar npy", ["evaluate", "--fake", str(r / "scalar.npy"), "--real", "digits"], "got shape ()"),
        ("3 list scores", ["info", str(r / "lists")], "holds a list, not a gankit scores object"),
        ("3 deep sawtooth", ["expressivity", "regions", "--construction", "sawtooth", "--depth", "100000"],
         "--depth <= 64"),
        ("3 wide serra", ["expressivity", "regions", "--construction", "serra", "--width", "100000"], "--width <= 1024"),
        ("3 out dot", ["train", "ring8-gan", "--out", ".", "--suffix"], "names an existing directory"),
        ("4 lr inf", [*train, "optim.G.lr=inf"], "expected a finite number"),
        ("5 scale nan", [*train, "data.scale=nan"], "expected a finite number"),
        ("5 resume backwards", ["train", "--resume", toy, "--steps", "1"], "before the run's newest checkpoint"),
        ("6 directory as config", ["train", str(r / "dir.toml")], "is a directory"),
        ("6 output is a directory", ["sample", toy, "--out", str(r / "out.png"), "--force"], "is a directory"),
        ("6 text npy", ["evaluate", "--fake", str(r / "text.npy"), "--real", "digits"], "which gankit never loads"),
        ("7 no command", [], "give a command: train, presets, sample"),
    ]


def _own_cases(r: Path) -> list[tuple[str, list[str], str]]:
    """More inputs tried as an adversary would (beyond the issue's list), each refused in one line."""
    toy, new = str(r / "toy"), str(r / "new")
    train = ["train", "ring8-gan", *FAST, "--out", new, "--set"]
    sink = ["train", "ring8-sinkhorn", "--set", "data.n_samples=500", "--set", "train.progress=false", "--out", new,
            "--set"]
    return [
        ("missing data dir", [*train, "data.name=fashion-mnist", "--set", "data.path=/nonexistent"], "is missing"),
        ("folder path is a file", [*train, "data.name=folder", "--set", f"data.path={r / 'afile'}"],
         "is not a directory"),
        ("unknown game", [*train, "game.name=nope"], "unknown game 'nope'"),
        ("resume without checkpoints", ["train", "--resume", str(r / "dead")], "has no checkpoint to load"),
        ("empty config.toml", ["info", str(r / "emptycfg")], "is empty; this run directory is damaged"),
        ("condition without =", ["sample", toy, "--condition", "foo", "--out", str(r / "s.png")], "expects key=value"),
        ("condition of an unconditional run", ["sample", toy, "--condition", "label=2", "--out", str(r / "s.png")],
         "it is unconditional"),
        ("image metric on points", ["evaluate", toy, "--metrics", "fid,,kid"], "scores images, but these samples"),
        ("unreadable fakes", ["evaluate", "--fake", str(r / "junk"), "--real", "digits"], "could be read"),
        ("unknown reference", ["evaluate", "--fake", str(r / "junk"), "--real", "nosuchdata"], "unknown dataset"),
        ("split val", ["evaluate", "--fake", str(r / "junk"), "--real", "digits:val"], "must be train or test"),
        ("wrong type in TOML", ["train", str(r / "wrongtype.toml"), "--out", new], "is not a string"),
        ("a section as a value", ["train", str(r / "netsval.toml"), "--out", new], "is a section"),
        ("unknown arch", [*train, "nets.G.arch=vit"], "unknown net arch 'vit'"),
        ("init_from nowhere", [*train, "nets.G.init_from=/nonexistent"], "is not a gankit run directory"),
        ("frozen D", [*train, "nets.D.frozen=true"], "but optimiser D trains it"),
        ("unwritable out", ["train", "ring8-gan", *FAST, "--out", "/proc/gankit-run"], "cannot create run directory"),
        ("every checkpoint corrupt", ["sample", str(r / "corrupt"), "--out", str(r / "s.png")], "no usable checkpoint"),
        ("odd resolution", [*train, "data.name=digits", "--set", "data.resolution=7", "--set", "nets.G.arch=dcgan",
                            "--set", "nets.D.arch=dcgan"], "even resolution"),
        ("condition on a missing field", [*train, "game.conditional=true", "--set", "game.condition=tags"],
         "needs class labels, tags or text"),
        ("NaN option", ["expressivity", "trajectory", "--sigma-w", "nan"], "expected a finite number"),
        ("negative seed", [*train, "seed=-1"], "expected an integer in [0, 2^63)"),
        ("pack not dividing batch", [*train, "game.pack=5"], "must be a multiple of game.pack"),
        ("broken scores.json", ["info", str(r / "badjson")], "is not valid JSON"),
        ("another game's key", [*train, "game.name=sinkhorn", "--set", "game.loss=hinge"],
         "unknown config key 'game.loss'"),
        ("a killed run's directory", ["train", "ring8-gan", "--out", str(r / "dead")], "holds no checkpoint"),
        # found by a second, adversarial review
        ("tiny Sinkhorn blur", [*sink, "game.blur=1e-300"], "a number in [1e-4, 1e3]"),
        ("endless eps-scaling", [*sink, "game.scaling=0.99999999"], "(0, 0.99]"),
        ("huge weight decay", [*train, "optim.D.weight_decay=1e308"], "a number in [0, 1]"),
        ("batch norm on one example", [*train, "train.batch_size=1", "--set", "nets.G.norm=batch"],
         "needs at least 2 examples per batch"),
        ("Sinkhorn cost matrix", [*sink, "train.batch_size=100000"], "one training step needs about"),
        ("a minute-long trajectory", ["expressivity", "trajectory", "--width", "8192", "--depth", "200"],
         "width^2 x depth <= 250,000,000"),
        ("too many neurons to count", ["expressivity", "regions", "--widths", "1024,1024,1024"], "at most 512 in all"),
        ("a FIFO as samples", ["evaluate", "--fake", str(r / "fifo.npy"), "--real", "digits"], "a .npy file"),
        ("pixels in [0, 1]", ["evaluate", "--fake", str(r / "zeros.npy"), "--real", "digits"], "pixels in [0, 1]?"),
        ("a report in the way", ["evaluate", toy, "--out", str(r / "taken.json")], "taken.html exists"),
        ("a dangling link as --out", ["train", "ring8-gan", *FAST, "--out", str(r / "dangling")], "dangling symbolic"),
        ("a file as a parent", ["sample", toy, "--out", str(r / "afile" / "x.png")], "is a file, not a directory"),
        ("NUL in a TOML string", ["train", str(r / "nul.toml"), "--out", new], "control characters"),
        ("a 2 MB name", [*train, "data.name=" + "a" * 2_000_000], "'aaaa"),
        # found by the property test
        ("a batch beyond int64", [*train, "train.batch_size=99999999999999999999999"], "an integer in [1, 1e9]"),
        ("a width beyond int64", [*train, "nets.G.width=9223372036854775000"], "an integer in [1, 1000000]"),
        ("an integer beyond int64", [*train, "train.log_every=99999999999999999999999"], "below 2^63"),
    ]


def test_each_defect_is_one_line_exit_2_and_nothing_written(place: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(place)
    for name, argv, fragment in _cases(place) + _own_cases(place):
        before = _tree(place)
        capsys.readouterr()
        assert main(argv) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert err and fragment in err[-1] and err[-1].startswith("gankit: error: "), (name, err[-1][:300])
        assert len(err[-1]) < 600, (name, "a readable line, not an echo of the input")
        assert len([line for line in err if line.startswith("gankit: error")]) == 1, (name, err)
        assert _tree(place) == before, name


def test_a_run_without_modes_writes_strict_json_with_the_reason(place: Path) -> None:
    scores = (place / "toy" / "scores.json").read_text()
    assert "NaN" not in scores and "Infinity" not in scores
    train = json.loads(scores)["train"]
    assert train["modes"] == 0 and train["reverse_kl"] is None and "mode histogram is empty" in train["reverse_kl_why"]
    for line in (place / "toy" / METRICS_FILE).read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in metrics.jsonl"))


def test_a_run_shorter_than_log_every_logs_its_end_and_draws_its_curves(tmp_path: Path) -> None:
    run = tmp_path / "short"
    assert main(["train", "ring8-gan", "--steps", "3", "--out", str(run), *FAST, "--set", "train.log_every=100"]) == 0
    assert [r["step"] for r in read_rows(run / METRICS_FILE)] == [3] and (run / "curves.png").is_file()


def test_a_file_size_limit_names_the_file_and_leaves_nothing_to_block_out(tmp_path: Path) -> None:
    """`ulimit -f`: the first file that does not fit stops the run with its path; a run with no checkpoint
    yet is removed (it held nothing to resume), with no temporary file left anywhere."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))

    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "gankit", "train", "ring8-gan", "--out", str(out), *FAST],
                          capture_output=True, text=True, preexec_fn=limit, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("gankit: error: cannot write ") and "File too large" in line and str(out) in line
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_failed_checkpoint_keeps_the_previous_one_and_the_run_resumes(tmp_path: Path, monkeypatch) -> None:
    from gankit import files
    from gankit.errors import UserError
    from gankit.train import session
    from tests.conftest import tiny_toy

    real, calls = files.atomic_write, []

    def full_disk(path, data):  # the disk fills up at the second checkpoint
        if str(path).endswith(".pt"):
            calls.append(path)
            if len(calls) == 2:
                raise UserError(f"cannot write {path}: No space left on device; the previous file is unchanged")
        return real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write", full_disk)
    with pytest.raises(UserError, match="No space left"):
        session.train_new(tiny_toy(), tmp_path / "run")
    assert [p.name for p in checkpoint.committed(tmp_path / "run")] == ["step-00000010.pt"]
    assert not [p for p in (tmp_path / "run").rglob("*.tmp")]
    monkeypatch.setattr(checkpoint, "atomic_write", real)
    assert session.resume(tmp_path / "run").step == 20


def test_usability(place: Path, capsys) -> None:
    assert sorted(p.stem for p in (ROOT / "configs" / "presets").glob("*.toml"))  # the symlink resolves
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    help_text = capsys.readouterr().out
    assert "the same seed, the same picture" in help_text and "a directory made by gankit train" in help_text
    folder = place / "three"
    assert main(["train", "folder-dcgan", "--steps", "1", "--out", str(place / "f"), "--set", f"data.path={folder}",
                 "--set", "data.resolution=8", "--set", "nets.G.width=8", "--set", "nets.D.width=8", "--set",
                 "train.batch_size=2", "--set", "train.progress=false"]) == 0
    assert "folder " + str(folder) + ": 3 images without class labels, 8x8x3" in capsys.readouterr().err


def test_expressivity_json_is_strict_when_a_rate_is_undefined(capsys) -> None:
    """Found by the property test: one layer of width 2 has no measured growth rate (NaN), which made
    `--json` raise; it is null with a reason now."""
    assert main(["expressivity", "trajectory", "--width", "2", "--depth", "1", "--sigma-w", "1", "--json",
                 "--max-points", "2000"]) == 0
    result = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert result["rate_measured"] is None and "rate_measured_why" in result
