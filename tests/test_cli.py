"""End-to-end CLI runs on small data, and the bad-input table: one line, exit 2, nothing lost."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.train import outputs
from gankit.train.restore import restore

TINY = ["--set", "data.n_samples=2000", "--set", "nets.G.width=16", "--set", "nets.D.width=16",
        "--set", "train.batch_size=32", "--set", "train.progress=false", "--set", "eval.n_samples=200",
        "--set", "train.sample_every=10", "--set", "train.ckpt_every=10", "--set", "train.threads=1"]


def _gankit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "gankit", *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    assert main(["train", "ring8-gan", "--steps", "20", "--out", str(root / "run"), *TINY]) == 0
    return root / "run"


def test_train_sample_info(toy_run: Path, tmp_path: Path, capsys) -> None:
    assert (toy_run / "scores.json").exists() and (toy_run / "progress.gif").exists()
    assert main(["sample", str(toy_run), "--n", "100", "--seed", "3", "--out", str(tmp_path / "a.png")]) == 0
    assert main(["sample", str(toy_run), "--n", "100", "--seed", "3", "--out", str(tmp_path / "b.png")]) == 0
    assert main(["sample", str(toy_run), "--n", "100", "--seed", "4", "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "c.png").read_bytes()
    assert main(["info", str(toy_run)]) == 0
    assert "checkpoints" in capsys.readouterr().out


def test_image_run_and_conditional_sample(tmp_path: Path) -> None:
    args = ["train", "folder-dcgan", "--steps", "4", "--out", str(tmp_path / "run"), "--set", "data.name=digits",
            "--set", "data.resolution=8", "--set", "data.channels=1", "--set", "nets.G.width=8", "--set", "nets.D.width=8",
            "--set", "train.batch_size=16", "--set", "train.progress=false", "--set", "game.conditional=true"]
    assert main(args) == 0
    run = tmp_path / "run"
    assert main(["sample", str(run), "--label", "3", "--n", "16", "--out", str(tmp_path / "three.png")]) == 0
    # What was drawn is G's output for class 3 on the seed's z, built here by hand (not via fixed_inputs):
    r = restore(run)
    z = r.game.fixed_inputs(16, torch.Generator().manual_seed(0))["z"]
    outputs.render(r.game, r.players, {"z": z, "label": torch.full((16,), 3)}, None, tmp_path / "expected.png")
    assert (tmp_path / "three.png").read_bytes() == (tmp_path / "expected.png").read_bytes()
    assert main(["sample", str(run), "--condition", "label=3", "--n", "16", "--out", str(tmp_path / "c3.png")]) == 0
    assert main(["sample", str(run), "--label", "4", "--n", "16", "--out", str(tmp_path / "four.png")]) == 0
    assert (tmp_path / "c3.png").read_bytes() == (tmp_path / "three.png").read_bytes()
    assert (tmp_path / "four.png").read_bytes() != (tmp_path / "three.png").read_bytes()


def test_suffix_makes_a_fresh_directory(toy_run: Path) -> None:
    assert main(["train", "ring8-gan", "--steps", "2", "--out", str(toy_run), "--suffix", *TINY]) == 0
    assert (toy_run.parent / f"{toy_run.name}-2" / "config.toml").exists()


def _bad_cases(run: Path, tmp: Path) -> list[tuple[str, list[str], str]]:
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "notarun").mkdir(exist_ok=True)
    (tmp / "exists.png").write_bytes(b"keep me")
    (tmp / "bad.toml").write_text("[train\nsteps = 3")
    broken = tmp / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # a PNG cut after its signature
    (broken / "notes.jpg").write_text("this is text, not a JPEG")  # a non-image with an image extension
    other_game = tmp / "other-game"
    if not other_game.exists():
        shutil.copytree(run, other_game)
        for record in (other_game / "checkpoints").glob("*.json"):
            record.write_text(record.read_text().replace('"game": "gan"', '"game": "cyclegan"'))
    return [
        ("unknown preset", ["train", "ring9-gan"], "unknown preset 'ring9-gan'"),
        ("unknown key", ["train", "ring8-gan", "--set", "train.stepz=3"], "unknown config key 'train.stepz'"),
        ("wrong type", ["train", "ring8-gan", "--set", "train.batch_size=big"], "is not an integer"),
        ("negative lr", ["train", "ring8-gan", "--set", "optim.G.lr=-0.1"], "expected a number in (0, 10]"),
        ("unknown loss", ["train", "ring8-gan", "--set", "game.loss=nope"], "unknown loss 'nope'"),
        ("unknown dataset", ["train", "ring8-gan", "--set", "data.name=nope"], "unknown dataset 'nope'"),
        ("missing data dir", ["train", "fashion-dcgan", "--set", f"data.path={tmp}/none"], "missing"),
        ("empty image folder", ["train", "folder-dcgan", "--set", f"data.path={tmp}/empty"], "no image"),
        ("existing run dir", ["train", "ring8-gan", "--out", str(run)], "already exists"),
        ("resume not a run", ["train", "--resume", str(tmp / "notarun")], "not a gankit run directory"),
        ("sample not a run", ["sample", str(tmp / "notarun"), "--out", str(tmp / "x.png")], "not a gankit run directory"),
        ("sample overwrite", ["sample", str(run), "--out", str(tmp / "exists.png")], "exists"),
        ("label unconditional", ["sample", str(run), "--label", "2", "--out", str(tmp / "y.png")], "class-conditional"),
        ("bad toml", ["train", str(tmp / "bad.toml")], "not valid TOML"),
        ("missing toml", ["train", str(tmp / "none.toml")], "does not exist"),
        ("bad flag", ["train", "ring8-gan", "--stepz", "3"], "unrecognized arguments"),
        ("no preset", ["train"], "needs a preset"),
        ("conditional without labels", ["train", "grid25-gan", "--set", "data.name=moons", "--set", "game.conditional=true"], "needs class labels"),
        ("bad resolution", ["train", "folder-dcgan", "--set", "data.name=digits", "--set", "data.resolution=7"], "even resolution"),
        ("only unreadable images", ["train", "folder-dcgan", "--set", f"data.path={broken}"], "could be read"),
        ("wrong channel count", ["train", "folder-dcgan", "--set", "data.channels=2"], "expected 0 (native), 1 or 3"),
        ("checkpoint of another game", ["train", "--resume", str(other_game)], "from game 'cyclegan', not 'gan'"),
        ("sample of another game", ["sample", str(other_game), "--out", str(tmp / "z.png")], "from game 'cyclegan'"),
        ("negative steps", ["train", "ring8-gan", "--steps", "-5"], "--steps: -5 is out of range"),
        ("unknown device", ["train", "ring8-gan", "--set", "train.device=gpu"], "cpu, cuda, cuda:N or auto"),
        *([] if torch.cuda.is_available() else
          [("cuda without a GPU", ["train", "ring8-gan", "--set", "train.device=cuda"], "sees no CUDA GPU")]),
    ]


def test_bad_input_table(toy_run: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in toy_run.rglob("*"))
    for name, args, fragment in _bad_cases(toy_run, tmp_path):
        code = main(args)  # an exception escaping here would be a traceback for the user
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2, (name, code)
        assert len(lines) == 1 and lines[0].startswith("gankit: error:"), (name, lines)
        assert fragment in lines[0], (name, lines[0])
    assert sorted(p.name for p in toy_run.rglob("*")) == before, "bad input changed an existing run"
    assert (tmp_path / "exists.png").read_bytes() == b"keep me"
    assert not (tmp_path / "runs").exists(), "a refused run left a directory behind"


def test_bad_input_in_a_real_process(tmp_path: Path) -> None:
    proc = _gankit("train", "ring8-gan", "--set", "train.stepz=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "gankit: error: unknown config key 'train.stepz'; known keys here: " + proc.stderr.split("known keys here: ")[1].strip()]


def test_unreadable_images_are_skipped_with_a_warning_naming_them(tmp_path: Path, capsys) -> None:
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (20, 12), (40 * i, 10, 200)).save(folder / f"ok{i}.png")
    (folder / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (folder / "notes.jpg").write_text("text")
    args = ["train", "folder-dcgan", "--steps", "2", "--out", str(tmp_path / "run"), "--set", f"data.path={folder}",
            "--set", "data.resolution=8", "--set", "nets.G.width=8", "--set", "nets.D.width=8",
            "--set", "train.batch_size=4", "--set", "train.progress=false"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 2 unreadable image file(s)" in err and "torn.png" in err and "notes.jpg" in err


def test_a_closed_pipe_is_not_reported_as_an_error() -> None:
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m gankit presets | head -1", shell=True, capture_output=True, text=True)
    assert proc.stdout.count("\n") == 1 and "error" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["presets"], ["train", "--set"], []])
def test_light_commands_do_not_import_torch(args: list[str]) -> None:
    """--help, presets and argument errors answer without loading torch (about a second by itself);
    benchmarks/cli_speed.py times them."""
    code = (f"import sys\nfrom gankit.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().endswith("LIGHT"), out.stdout + out.stderr
