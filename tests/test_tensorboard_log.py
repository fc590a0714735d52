"""train.tensorboard: the metrics rows and sample pictures as TensorBoard events, read back with TensorBoard's
own reader; a clear refusal where the package is missing."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gankit.errors import UserError
from gankit.train import session
from gankit.train.rundir import METRICS_FILE, read_rows
from gankit.train.tensorboard_log import TENSORBOARD_DIR
from tests.conftest import tiny_toy


def _events(run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / TENSORBOARD_DIR), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _scalars(acc, tag: str) -> dict[int, float]:
    events = acc.Scalars(tag)
    steps = [e.step for e in events]
    assert len(steps) == len(set(steps)), f"{tag}: a step logged twice {steps}"
    return {e.step: e.value for e in events}


def test_scalars_and_pictures_are_read_back(tmp_path: Path) -> None:
    run = session.train_new(tiny_toy(**{"train.tensorboard": "true"}), tmp_path / "run").run_dir
    acc = _events(run)
    rows = [r for r in read_rows(run / METRICS_FILE)]
    for key in ("loss_D", "loss_G", "D(x)", "diversity", "sinkhorn_to_data"):
        assert _scalars(acc, key) == pytest.approx({r["step"]: r[key] for r in rows}, rel=1e-6), key
    assert [e.step for e in acc.Images("samples")] == [0, 10, 20]
    assert acc.Images("samples")[0].width > 100


def test_a_resumed_run_has_each_step_once(tmp_path: Path) -> None:
    cfg = lambda: tiny_toy(**{"train.tensorboard": "true", "train.log_every": "1"})  # noqa: E731

    def crash(trainer) -> None:
        if trainer.step == 13:
            raise RuntimeError("simulated kill")

    with pytest.raises(RuntimeError):
        session.train_new(cfg(), tmp_path / "run", hooks=[crash])  # rows 11 and 12 logged, checkpoint at 10
    session.resume(tmp_path / "run")
    rows = read_rows(tmp_path / "run" / METRICS_FILE)
    assert _scalars(_events(tmp_path / "run"), "loss_D") == pytest.approx({r["step"]: r["loss_D"] for r in rows})


def test_without_the_package_training_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = session.train_new(tiny_toy(**{"train.tensorboard": "true", "train.steps": "2"}), tmp_path / "old").run_dir
    before = {p: p.stat().st_mtime_ns for p in earlier.rglob("*")}
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` now fails as if not installed
    refusal = r"needs the tensorboard package: pip install tensorboard \(or pip install 'gankit\[tensorboard\]'\)"
    with pytest.raises(UserError, match=refusal):
        session.train_new(tiny_toy(**{"train.tensorboard": "true"}), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(UserError, match=refusal):
        session.resume(earlier, steps=4)
    assert {p: p.stat().st_mtime_ns for p in earlier.rglob("*")} == before  # a refused resume changes nothing
    session.train_new(tiny_toy(**{"train.steps": "2"}), tmp_path / "plain")  # not asked for: no refusal
