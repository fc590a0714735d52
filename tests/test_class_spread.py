"""class_spread: 1 when each class varies as the data does, 0 when z is ignored."""
from __future__ import annotations

import torch

from gankit.metrics.class_spread import class_spread


def test_same_data_is_one_and_collapse_is_zero() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 8, generator=g)
    labels = torch.arange(400) % 4
    same = class_spread(real, labels, real, labels)
    assert abs(same["class_spread"] - 1) < 1e-9 and abs(same["class_spread_min"] - 1) < 1e-9
    collapsed = real[labels][:, :] * 0 + torch.arange(4, dtype=torch.float32)[labels][:, None]  # one point per class
    out = class_spread(collapsed, labels, real, labels)
    assert out["class_spread"] == 0 and out["class_spread_min"] == 0


def test_one_class_collapsed_shows_in_the_minimum() -> None:
    g = torch.Generator().manual_seed(1)
    real = torch.randn(300, 5, generator=g)
    labels = torch.arange(300) % 3
    fake = real.clone()
    fake[labels == 2] = 0.0
    out = class_spread(fake, labels, real, labels)
    assert out["class_spread_min"] == 0 and abs(out["class_spread"] - 2 / 3) < 1e-9
