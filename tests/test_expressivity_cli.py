"""`gankit expressivity ...`: JSON numbers, figures on disk, and one-line errors for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gankit.cli import main


def _json(capsys, *argv: str) -> dict:
    assert main(["expressivity", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_regions_constructions_json(capsys) -> None:
    out = _json(capsys, "regions", "--construction", "sawtooth", "--depth", "7", "--input-dim", "1")
    assert out["regions"] == out["expected"] == 128 and out["matches_theory"]
    out = _json(capsys, "regions", "--construction", "serra", "--depth", "3", "--width", "4", "--input-dim", "1")
    assert out["regions"] == 125
    out = _json(capsys, "regions", "--construction", "one-layer", "--width", "9", "--input-dim", "2")
    assert out["regions"] == 1 + 9 + 36 and out["grid_regions"] <= out["regions"]


def test_regions_random_json(capsys) -> None:
    out = _json(capsys, "regions", "--widths", "8,8,8", "--input-dim", "2", "--init", "gaussian", "--sigma-w", "1.5",
                "--sigma-b", "0.3", "--seed", "4", "--grid", "500")
    assert out["widths"] == [8, 8, 8] and out["sigma_w"] == 1.5 and out["neurons"] == 24
    assert 0.9 * out["regions"] <= out["grid_regions"] <= out["regions"] <= out["max_regions"]
    line = _json(capsys, "regions", "--widths", "8,8,8", "--input-dim", "1")
    assert line["init"] == "he" and 1 <= line["regions"] <= 9**3


def test_regions_budget_and_scan_json(capsys) -> None:
    out = _json(capsys, "regions", "--budget", "8", "--train-steps", "20")
    assert [a["widths"] for a in out["architectures"]] == [[8], [4, 4], [2, 2, 2, 2]]
    assert out["regions"] == [a["regions_init"] for a in out["architectures"]]
    scan = _json(capsys, "regions", "--scan", "--seeds", "2")
    assert set(scan["slope_per_neuron"]) == {"1", "2", "4", "8"}


def test_trajectory_json(capsys) -> None:
    out = _json(capsys, "trajectory", "--activation", "tanh", "--width", "60", "--depth", "3", "--sigma-w", "2.0",
                "--sigma-b", "0.3", "--seed", "1")
    assert len(out["length"]) == len(out["curvature"]) == 4
    assert out["converged"] and out["curvature"][0] == pytest.approx(6.283185, rel=1e-6)
    sweep = _json(capsys, "trajectory", "--activation", "hardtanh", "--width", "20", "--depth", "2",
                  "--sweep", "0.8,3.0")
    assert [r["sigma_w"] for r in sweep["runs"]] == [0.8, 3.0] and sweep["runs"][0]["raghu_rate"] > 0


def test_phase_json(capsys) -> None:
    out = _json(capsys, "phase", "--activation", "tanh", "--sigma-b", "0.3", "--no-measure")
    assert out["critical_sigma_w"] == pytest.approx(1.396, abs=1e-3) and "measured_critical_sigma_w" not in out
    out = _json(capsys, "phase", "--sigma-b", "0.3", "--width", "200", "--depth", "20")
    assert out["measured_critical_sigma_w"] == pytest.approx(1.396, abs=0.1)


def test_fold_json(capsys) -> None:
    out = _json(capsys, "fold", "--folds", "7")
    assert out["dragon_segments"] == out["dragon_distinct_edges"] == out["sawtooth_regions"] == 128
    assert out["one_layer_regions"] == out["one_layer_expected"] == 1 + 7 + 21


@pytest.mark.slow
def test_figures_are_written_and_not_overwritten(tmp_path: Path, capsys) -> None:
    runs = {
        "a.png": ["regions", "--construction", "one-layer", "--width", "6"],
        "b.png": ["regions", "--widths", "6,6", "--input-dim", "1"],
        "c.png": ["fold", "--folds", "5"],
        "d.png": ["trajectory", "--width", "30", "--depth", "3"],
        "e.png": ["regions", "--budget", "6", "--train-steps", "5"],
    }
    for name, argv in runs.items():
        out = tmp_path / name
        assert main(["expressivity", *argv, "--out", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(out) in capsys.readouterr().out
    assert main(["expressivity", "fold", "--folds", "5", "--out", str(tmp_path / "c.png")]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["expressivity", "fold", "--folds", "5", "--out", str(tmp_path / "c.png"), "--force"]) == 0


BAD = [
    (["regions", "--construction", "sawtooth", "--depth", "0"], "--depth must be > 0"),
    (["regions", "--construction", "sawtooth", "--input-dim", "3"], "invalid choice: 3"),
    (["regions", "--construction", "serra", "--width", "2"], "widths >= 3"),
    (["regions", "--construction", "sawtooth", "--width", "5"], "width 2"),
    (["regions", "--construction", "sawtooth", "--depth", "40"], "regions"),
    (["regions", "--construction", "sawtooth", "--sigma-b", "1"], "does not apply"),
    (["regions", "--widths", "16,,16"], "--widths must be"),
    (["regions", "--widths", "16,0"], "--widths needs"),
    (["regions", "--widths", "abc"], "--widths must be"),
    (["regions", "--widths", "8", "--sigma-w", "2"], "--init gaussian"),
    (["regions", "--widths", "8", "--depth", "3"], "does not apply"),
    (["regions", "--widths", "8", "--sigma-b", "-1"], "--sigma-b must be >= 0"),
    (["regions", "--budget", "8", "--input-dim", "1"], "--input-dim 2"),
    (["regions", "--budget", "1000"], "between 2 and 256"),
    (["regions", "--widths", "8", "--construction", "sawtooth"], "not allowed with"),
    (["regions"], "one of the arguments"),
    (["trajectory", "--width", "1"], "--width"),
    (["trajectory", "--sweep", "1,x"], "--sweep must be"),
    (["trajectory", "--sigma-w", "0"], "--sigma-w must be > 0"),
    (["trajectory", "--activation", "sigmoid"], "invalid choice"),
    (["phase", "--sigma-b", "5"], "at most 2"),
    (["fold", "--folds", "0"], "between 1 and 16"),
    (["fold", "--out", "x.jpg"], ".png"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_exit_2(argv: list[str], message: str, capsys, tmp_path: Path,
                                      monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["expressivity", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []  # nothing written
