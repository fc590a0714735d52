"""Running statistics without host syncs in the hot loop.

Each phase adds its loss and stats as tensors; nothing is converted to a Python
float until `flush()`, which the loop calls every `log_every` steps. The first step
at which a phase produced a non-finite loss is tracked on-device too, so a divergence
is reported with its exact step and phase even though it is read late.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import DivergenceError


class Meter:
    def __init__(self) -> None:
        self._sums: dict[str, Tensor] = {}
        self._counts: dict[str, int] = {}
        self._first_bad: dict[str, Tensor] = {}

    def add(self, phase: str, step: int, loss: Tensor, stats: dict[str, Tensor]) -> None:
        loss = loss.detach()
        bad = self._first_bad.get(phase)
        if bad is None:
            bad = self._first_bad[phase] = torch.tensor(-1, device=loss.device)
        # keep the first bad step: bad stays if already set, else becomes `step` when loss is not finite
        bad.masked_fill_((bad < 0) & ~torch.isfinite(loss), step)
        for key, value in stats.items():
            if key in self._sums:
                self._sums[key] += value
                self._counts[key] += 1
            else:
                self._sums[key] = value.detach().clone().float()
                self._counts[key] = 1

    def check(self) -> None:
        """Raise DivergenceError naming the first step and phase with a non-finite loss."""
        bad = {phase: int(step) for phase, step in self._first_bad.items() if int(step) >= 0}
        if bad:
            phase = min(bad, key=bad.get)
            raise DivergenceError(
                f"training diverged: the {phase} loss became non-finite (NaN/inf) at step {bad[phase]}"
            )

    def flush(self) -> dict[str, float]:
        """Means since the last flush, as floats; resets the sums."""
        self.check()
        out = {key: float(total) / self._counts[key] for key, total in self._sums.items()}
        self._sums.clear()
        self._counts.clear()
        return out

    def state_dict(self) -> dict[str, dict]:
        """Partial sums since the last row, so a run stopped between rows logs the same rows after resume."""
        return {"sums": dict(self._sums), "counts": dict(self._counts), "first_bad": dict(self._first_bad)}

    def load_state_dict(self, state: dict[str, dict], device: torch.device | str = "cpu") -> None:
        """Restore the partial sums onto `device`, where the training losses will be added to them."""
        self._sums = {k: v.to(device, copy=True) for k, v in state["sums"].items()}
        self._counts = {k: int(v) for k, v in state["counts"].items()}
        self._first_bad = {k: v.to(device, copy=True) for k, v in state["first_bad"].items()}
