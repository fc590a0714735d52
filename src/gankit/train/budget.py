"""Will one training step fit in memory? An estimate made before anything is allocated or written.

The game is built on PyTorch's "meta" device (shapes without storage), so its players cost nothing,
and each phase's loss runs once on a meta batch while hooks add up the size of every layer's output:

    parameters   count x 4 bytes x 5  (weights, gradients, Adam's two moments, an EMA copy)
    activations  the outputs of one step's phases x 2  (kept for the backward pass, and their gradients)
    batch        the decoded batch of every phase

A config whose estimate exceeds the memory available (Linux: MemAvailable; CUDA: the device's free
memory) is refused with one line that names the part that is too large. Where a game cannot run on
the meta device, only its parameters are counted.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.base import DataSpec, decode
from gankit.errors import UserError
from gankit.registry import GAMES

GB = 1024**3


def available_bytes(device: torch.device) -> int | None:
    """Memory free for this run on `device`, or None when it cannot be read."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _meta_batch(spec: DataSpec, batch_size: int) -> dict[str, Tensor]:
    batch = {}
    for name, f in spec.items():
        stored = torch.uint8 if f.kind in ("image", "paired_image", "multi_hot") else (
            torch.int64 if f.kind in ("label", "tokens") else torch.float32)
        batch[name] = decode(f.kind, torch.empty((batch_size, *f.shape), dtype=stored, device="meta"))
    return batch


def estimate(cfg: Config, spec: DataSpec) -> dict[str, int]:
    """Bytes a training step needs: {"parameters", "activations", "batch"} (activations 0 if unknown)."""
    with torch.device("meta"):
        game = GAMES.get(cfg.game.name)(cfg, spec)
    params = sum(p.numel() for m in game.players.values() for p in m.parameters())
    seen = [0]

    def count(module: nn.Module, inputs: object, output: object) -> None:
        if isinstance(output, Tensor):
            seen[0] += output.numel() * output.element_size()

    hooks = [mod.register_forward_hook(count) for m in game.players.values() for mod in m.modules()]
    batch = _meta_batch(spec, cfg.train.batch_size)
    try:
        for phase in game.phases:
            game.begin_step(0)
            game.loss(phase.name, batch, game.players)
    except Exception:  # a game that cannot run on meta tensors (a library without meta kernels)
        seen[0] = 0
    finally:
        for h in hooks:
            h.remove()
    batch_bytes = sum(t.numel() * t.element_size() for t in batch.values()) * len(game.phases)
    return {"parameters": params * 4 * 5, "activations": 2 * seen[0] + game.extra_memory(cfg.train.batch_size),
            "batch": batch_bytes}


def check(cfg: Config, spec: DataSpec, device: torch.device) -> None:
    """Refuse, with one line, a config whose training step cannot fit in the memory available."""
    try:
        parts = estimate(cfg, spec)
    except UserError:
        raise
    except RuntimeError as exc:
        if "overflow" in str(exc).lower():  # sizes beyond what a tensor can index: no machine runs this
            raise UserError("these sizes overflow a tensor's size; lower train.batch_size or nets.*.width") from None
        return  # an estimate that cannot be made must not stop a run that could work
    except Exception:  # noqa: BLE001
        return
    free = available_bytes(device)
    need = sum(parts.values())
    if free is None or need <= free:
        return
    largest = max(parts, key=parts.get)
    hint = {"parameters": "lower nets.*.width or nets.*.depth",
            "activations": "lower train.batch_size or nets.*.width",
            "batch": "lower train.batch_size"}[largest]
    shown = ", ".join(f"{k} {_gb(v)}" for k, v in parts.items())
    raise UserError(f"one training step needs about {_gb(need)} GB ({shown} GB), more than the "
                    f"{_gb(free)} GB free on {device.type}; {hint}")


def _gb(n_bytes: float) -> str:
    value = n_bytes / GB
    return "< 0.01" if value < 0.01 else f"{value:,.2f}"


def fits(n_bytes: float, what: str, device: torch.device | None = None) -> None:
    """Refuse a CLI request (--n samples, a grid) that would need more memory than is free."""
    free = available_bytes(device or torch.device("cpu"))
    if free is not None and n_bytes > free:
        raise UserError(f"{what} would need about {_gb(n_bytes)} GB, more than the {_gb(free)} GB free")


__all__ = ["available_bytes", "check", "estimate", "fits"]
