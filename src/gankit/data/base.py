"""What every dataset gives the loop: tensors in memory and a seeded batch sampler.

A dataset is a function registered in `gankit.registry.DATASETS` that takes a
`DataConfig` and returns a `TensorData`. Images are NCHW float32 in [-1, 1];
2D points are (N, 2) float32. Nothing is decoded in the hot loop: a batch is
`x[idx]` for a random index tensor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from gankit.errors import UserError


@dataclass(frozen=True)
class Mixture:
    """Geometry of a Gaussian mixture, for mode scoring (VEEGAN/PacGAN protocol)."""

    means: Tensor  # (K, 2)
    sigma: float


@dataclass
class TensorData:
    """A whole dataset in memory."""

    x: Tensor  # (N, 2) points or (N, C, H, W) images in [-1, 1]
    y: Tensor | None = None  # (N,) int64 class labels, or None
    num_classes: int = 0
    kind: Literal["points", "images"] = "images"
    class_names: list[str] = field(default_factory=list)
    mixture: Mixture | None = None  # set for ring8/grid25-like mixtures
    source: str = ""  # where the data came from, for provenance

    def __post_init__(self) -> None:
        if self.x.ndim < 2 or len(self.x) == 0:
            raise UserError(f"dataset from {self.source or '?'} is empty or has no features")
        if self.y is not None and len(self.y) != len(self.x):
            raise UserError(f"dataset from {self.source}: {len(self.y)} labels for {len(self.x)} examples")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (2,) or (1, 28, 28)."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return len(self.x)


class BatchSampler:
    """Seeded uniform sampling with replacement; its state is part of a checkpoint."""

    def __init__(self, data: TensorData, batch_size: int, seed: int) -> None:
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self) -> dict[str, Tensor]:
        idx = torch.randint(len(self.data), (self.batch_size,), generator=self.generator)
        batch = {"x": self.data.x[idx]}
        if self.data.y is not None:
            batch["y"] = self.data.y[idx]
        return batch

    def state_dict(self) -> dict[str, Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.generator.set_state(state["generator"])
