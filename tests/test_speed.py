"""The GPU speed switches on the CPU (train/speed.py): compiled players train like eager ones and keep their
checkpoint keys; bf16 autocast changes the arithmetic but not the weights' dtype; bad values are refused.
The speed itself is measured on a GPU by benchmarks/gpu_step.py, never here."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from gankit.errors import UserError
from gankit.train import checkpoint, session, speed
from gankit.train.loop import Trainer
from gankit.train.rundir import METRICS_FILE, read_rows
from tests.conftest import tiny_images, tiny_toy


def _players(run_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    return checkpoint.load_latest(run_dir)["players"]


@pytest.mark.slow  # compiles G and D with inductor: about 20 s on this machine
def test_compiled_players_train_like_eager_ones_and_keep_their_keys(tmp_path: Path) -> None:
    eager = session.train_new(tiny_toy(), tmp_path / "eager")
    compiled = session.train_new(tiny_toy(**{"train.compile": "default"}), tmp_path / "compiled")
    a, b = _players(eager.run_dir), _players(compiled.run_dir)
    assert {p: list(sd) for p, sd in a.items()} == {p: list(sd) for p, sd in b.items()}  # no _orig_mod. prefix
    for player, weights in a.items():
        for key, value in weights.items():
            # fused kernels may sum in another order: equal up to float32 rounding after 20 Adam steps
            torch.testing.assert_close(b[player][key], value, rtol=1e-3, atol=1e-4)
    # a checkpoint written with compilation loads into an eager trainer (and so resumes with it off)
    trainer = Trainer(tiny_toy(), tmp_path / "reader", restoring=True)
    trainer.load_state_dict(checkpoint.load_latest(compiled.run_dir))
    assert trainer.step == 20


def test_bf16_autocast_changes_the_arithmetic_not_the_weights(tmp_path: Path) -> None:
    fp32 = session.train_new(tiny_images(), tmp_path / "fp32")
    with pytest.warns(UserWarning, match="bf16 on the CPU"):
        bf16 = session.train_new(tiny_images(**{"train.precision": "bf16"}), tmp_path / "bf16")
    a, b = _players(fp32.run_dir), _players(bf16.run_dir)
    assert all(v.dtype == a[p][k].dtype for p in b for k, v in b[p].items())  # float weights stay float32
    assert any(not torch.equal(v, a["G"][k]) for k, v in b["G"].items())  # the passes did run in bf16
    rows = [r for r in read_rows(bf16.run_dir / METRICS_FILE) if "loss_D" in r]
    assert rows and all(math.isfinite(r["loss_D"]) and math.isfinite(r["loss_G"]) for r in rows)


def test_autocast_is_a_no_op_for_fp32_and_bf16_inside_for_bf16() -> None:
    layer, x = nn.Linear(4, 3), torch.randn(2, 4)
    with speed.autocast("fp32", torch.device("cpu")):
        assert layer(x).dtype == torch.float32
    with speed.autocast("bf16", torch.device("cpu")):
        assert layer(x).dtype == torch.bfloat16
    assert layer.weight.dtype == torch.float32


def test_cuda_graph_modes_warn_on_the_cpu() -> None:
    with pytest.warns(UserWarning, match="CUDA graphs need a GPU"):
        speed.compile_players({"G": nn.Linear(2, 2)}, "reduce-overhead", torch.device("cpu"))
    module = nn.Linear(2, 2)
    speed.compile_players({"G": module}, "off", torch.device("cpu"))
    assert module._compiled_call_impl is None  # off leaves the eager module alone


@pytest.mark.parametrize("key, value", [("train.compile", "fast"), ("train.precision", "fp16")])
def test_bad_speed_values_are_refused_with_the_choices(key: str, value: str) -> None:
    with pytest.raises(UserError, match=key.replace(".", r"\.")):
        tiny_toy(**{key: value})
