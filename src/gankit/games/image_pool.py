"""The history of generated images that CycleGAN's discriminators learn from (Shrivastava et al. 2017).

A discriminator shown only the newest fakes can chase the generator round in circles; showing it a
buffer of older fakes as well steadies the game. The pool keeps up to `size` fakes (CycleGAN: 50).
Until it is full, every fake goes in and is returned as it is; then each fake is, with probability
`p` (1/2), swapped with a random stored one (D sees the old one), or else returned as it is.

The pool draws from its own seeded generator, and its contents and that generator's state are part
of the game's checkpoint, so a resumed run shows D exactly the images an uninterrupted run would.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ImagePool:
    """A buffer of up to `size` past fakes with its own RNG; `size` 0 passes fakes through."""

    def __init__(self, size: int, p: float, seed: int) -> None:
        self.size, self.p = size, p
        self.images: Tensor | None = None  # (k, C, H, W), k <= size, on the fakes' device
        self.rng = torch.Generator().manual_seed(seed)

    def __call__(self, fakes: Tensor) -> Tensor:
        """The images D is shown for `fakes` (N, C, H, W), detached; the pool is updated in place."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = fakes[:0].clone()
        self.images = self.images.to(fakes.device)  # a pool restored from a checkpoint comes on the CPU
        out = []
        # Draw every random number on the CPU generator, then index: one decision per fake, as the
        # reference implementation, without a host sync per image on a GPU.
        coins = torch.rand(len(fakes), generator=self.rng).tolist()
        slots = torch.randint(max(self.size, 1), (len(fakes),), generator=self.rng).tolist()
        for f, coin, slot in zip(fakes, coins, slots):
            if len(self.images) < self.size:
                self.images = torch.cat([self.images, f[None]])
                out.append(f)
            elif coin < self.p:
                out.append(self.images[slot].clone())
                self.images[slot] = f
            else:
                out.append(f)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        images = self.images if self.images is not None else torch.empty(0)
        return {"images": images.detach().cpu().clone(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        images = state["images"]
        self.images = images.clone() if images.ndim > 1 else None
        self.rng.set_state(state["rng"])
