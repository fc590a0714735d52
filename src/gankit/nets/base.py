"""What a net factory receives and the conventions every player follows.

Generators: `G(z, y=None) -> x` with z (N, z_dim) and y (N,) int64 class labels or None.
Discriminators: `D(x, y=None) -> logits` of shape (N,); the sigmoid of a logit is D's
probability that x is real. A net factory is registered in `NETS` under its
architecture name and called as `factory(role, net_cfg, spec)` with role "G" or "D".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError


@dataclass(frozen=True)
class NetSpec:
    """What a net needs to know about the data and the game."""

    data_shape: tuple[int, ...]  # one example: (2,) or (C, H, W)
    z_dim: int
    num_classes: int = 0  # > 0 when the net is conditioned on class labels


# Priors of z: (n, dim, generator, device) -> (n, dim) float32.
_PRIORS: dict[str, Callable[..., Tensor]] = {
    "normal": lambda n, dim, generator, device: torch.randn(n, dim, generator=generator, device=device),
    "uniform": lambda n, dim, generator, device: torch.rand(n, dim, generator=generator, device=device) * 2 - 1,
}


def sample_noise(dist: str, n: int, dim: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
    """n draws of z from the named prior (normal | uniform on [-1, 1])."""
    return _PRIORS[dist](n, dim, generator, device)


def norm_1d(kind: str, width: int) -> nn.Module:
    """Normalisation after a linear layer: none | batch | layer."""
    return {"none": nn.Identity, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}[kind](width)


def norm_2d(kind: str, channels: int) -> nn.Module:
    """Normalisation after a conv layer; 'layer' normalises over (C, H, W) per example
    (GroupNorm with one group), which keeps examples independent as WGAN-GP needs."""
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return {"none": nn.Identity, "batch": nn.BatchNorm2d}[kind](channels)


def maybe_spectral(module: nn.Module, cfg: NetConfig) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of a layer's weight when asked."""
    return nn.utils.parametrizations.spectral_norm(module) if cfg.spectral_norm else module


def check_role(arch: str, role: str, roles: tuple[str, ...]) -> None:
    if role not in roles:
        raise UserError(f"net {arch!r} cannot be a {role}; it builds {', '.join(roles)}")


class Projection(nn.Module):
    """Projection discriminator head (Miyato & Koyama 2018): logit = psi(h) + <embed(y), h>."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h, y):  # h (N, F), y (N,) -> (N,)
        return (self.embed(y) * h).sum(dim=1)
