"""Exponential moving average of a player's weights (used for samples and scores).

theta_ema <- beta_t * theta_ema + (1 - beta_t) * theta, with beta_t = min(decay, (1 + t) / (10 + t))
so that short runs are not dominated by the random initial weights. Floating-point
buffers (BatchNorm running statistics) are averaged the same way, so the averaged
weights are used with statistics that match them (copying the live statistics
next to averaged weights degraded 2D samples measurably); integer buffers are copied.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class EMA:
    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.source = module
        self.updates = 0
        pairs = list(zip(self.module.parameters(), module.parameters()))
        pairs += [(e, b) for e, b in zip(self.module.buffers(), module.buffers()) if b.is_floating_point()]
        self._ema_tensors = [e for e, _ in pairs]
        self._src_tensors = [s for _, s in pairs]
        self._copied = [(e, b) for e, b in zip(self.module.buffers(), module.buffers()) if not b.is_floating_point()]

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        beta = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._ema_tensors, self._src_tensors, 1.0 - beta)
        for ema_buf, buf in self._copied:
            ema_buf.copy_(buf)

    def state_dict(self) -> dict[str, Tensor | int]:
        return {"weights": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
