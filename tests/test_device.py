"""train.device: cpu by default, auto picks a visible GPU, cuda without one is refused in one line;
on a machine with a GPU, a run trains there, resumes there, and samples on the CPU."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.errors import UserError
from gankit.train import device as device_mod
from gankit.train import session
from gankit.train.restore import restore
from gankit.train.meter import Meter
from tests.conftest import tiny_images, tiny_toy

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_auto_picks_a_gpu_only_when_one_is_visible() -> None:
    assert device_mod.resolve("cpu") == torch.device("cpu")
    assert device_mod.resolve("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_naming_the_way_out() -> None:
    with pytest.raises(UserError, match="sees no CUDA GPU; use train.device=cpu or train.device=auto"):
        device_mod.resolve("cuda")


def test_meter_sums_are_restored_onto_the_training_device() -> None:
    meter = Meter()
    meter.add("D", 0, torch.tensor(1.0), {"loss_D": torch.tensor(1.0)})
    restored, device = Meter(), device_mod.resolve("auto")
    restored.load_state_dict(meter.state_dict(), device)
    restored.add("D", 1, torch.tensor(3.0, device=device), {"loss_D": torch.tensor(3.0, device=device)})
    assert restored.flush() == {"loss_D": 2.0}


@needs_cuda
@pytest.mark.parametrize("make", [tiny_toy, tiny_images])
def test_a_gpu_run_trains_resumes_and_samples_on_the_cpu(make, tmp_path: Path) -> None:
    cfg = make(**{"train.device": "cuda"})
    cfg.train.steps = 10
    first = session.train_new(cfg, tmp_path / "run")
    assert first.step == 10
    resumed = session.resume(first.run_dir, steps=14)
    assert resumed.step == 14
    r = restore(first.run_dir)
    assert r.step == 14
    assert all(p.device.type == "cpu" for m in r.players.values() for p in m.parameters())
    assert (first.run_dir / "progress.gif").exists()
