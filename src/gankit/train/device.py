"""Where training runs: `train.device` resolved to a torch device, and the random state of
every device in use (so that a resumed run continues the same random streams).

cpu is the default and the only place where runs are bit-for-bit deterministic; cuda runs
are seeded the same way, but GPU kernels may sum in a different order from run to run.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from gankit.errors import UserError


def resolve(name: str) -> torch.device:
    """cpu | cuda | cuda:N | auto (a CUDA GPU when one is visible, else cpu)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise UserError(f"train.device={name}, but this PyTorch ({torch.__version__}, {build}) sees no CUDA GPU; "
                            "use train.device=cpu or train.device=auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"train.device={name}, but only {torch.cuda.device_count()} CUDA GPU(s) are visible")
    return device


def of_players(players: Iterable[nn.Module]) -> torch.device:
    """The device the players' weights live on (cpu for players without weights)."""
    for module in players:
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def rng_state(device: torch.device) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
