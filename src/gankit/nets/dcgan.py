"""DCGAN-style conv nets (Radford, Metz, Chintala 2016) sized by resolution.

The resolution is halved while it is even and above 4: 28 -> 14 -> 7 (2 stages),
32 -> 16 -> 8 -> 4 (3), 64 -> ... -> 4 (4), 8 -> 4 (1). With base width w and n stages:

G: [z, encode(c)] -> Linear -> (w*2^(n-1)) x s0 x s0 -> BN, ReLU
   -> (ConvT 4x4 stride 2 -> BN -> ReLU) x (n-1) -> ConvT 4x4 stride 2 -> C -> tanh
D: x -> Conv 4x4 stride 2 -> w, LeakyReLU(0.2) -> (Conv 4x4 s2 -> norm -> LeakyReLU) x (n-1)
   -> flatten -> Linear -> logit (+ projection of c on the flattened features)

For 28x28 and w=64 this is the reference DCGAN of the benchmarks:
G: Linear -> 128x7x7, ConvT 128->64->1; D: Conv 1->64->128, Linear.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, feature_map, maybe_spectral, norm_2d, register_net
from gankit.nets.conditioning import Projection, auxiliary_head, condition_heads, generator_condition

_MAX_MULT = 8  # channels stop doubling at 8x the base width, as in DCGAN


def stages(resolution: int) -> tuple[int, int]:
    """(number of stride-2 stages, start side s0) for a square resolution."""
    side, n = resolution, 0
    while side % 2 == 0 and side > 4:
        side //= 2
        n += 1
    if n == 0:
        raise UserError(f"dcgan nets need an even resolution >= 8, got {resolution}")
    return n, side


def _channels(width: int, n: int) -> list[int]:
    """Channels from the smallest feature map to the largest: [w*2^(n-1), ..., w]."""
    return [width * min(2 ** (n - 1 - i), _MAX_MULT) for i in range(n)]


def _check_image(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"dcgan nets need square images (C, H, H), got data of shape {shape}")
    return shape[0], shape[1]


class DCGANGenerator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        out_channels, resolution = _check_image(spec.out_shape)
        n, self.s0 = stages(resolution)
        chans = _channels(cfg.width, n)
        self.c0 = chans[0]
        z_dim = spec.in_shape[0]
        self.embed = generator_condition(spec.condition, z_dim)
        in_dim = z_dim * (2 if self.embed is not None else 1)
        self.project = nn.Linear(in_dim, self.c0 * self.s0 * self.s0, bias=cfg.norm == "none")
        self.norm0 = norm_2d(cfg.norm, self.c0)
        layers: list[nn.Module] = [nn.ReLU()]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=cfg.norm == "none"),
                norm_2d(cfg.norm, c_out),
                nn.ReLU(),
            ]
        layers += [nn.ConvTranspose2d(chans[-1], out_channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(c)], dim=1)
        h = self.project(z).view(len(z), self.c0, self.s0, self.s0)
        return self.body(self.norm0(h))


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        in_channels, resolution = _check_image(spec.in_shape)
        n, s0 = stages(resolution)
        chans = list(reversed(_channels(cfg.width, n)))  # [w, 2w, ...]
        layers: list[nn.Module] = [maybe_spectral(nn.Conv2d(in_channels, chans[0], 4, 2, 1), cfg), nn.LeakyReLU(0.2)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            conv = nn.Conv2d(c_in, c_out, 4, 2, 1, bias=cfg.norm == "none")
            layers += [maybe_spectral(conv, cfg), norm_2d(cfg.norm, c_out), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        features = chans[-1] * s0 * s0
        self.head = maybe_spectral(nn.Linear(features, 1), cfg)
        self.project = Projection(features, spec.condition) if spec.condition else None
        self.aux = auxiliary_head(features, spec.condition)
        _dcgan_init(self)

    def features(self, x: Tensor) -> Tensor:
        """The flattened last conv features (N, F): the embedding a feature-map critic compares samples in."""
        return self.body(x).flatten(1)

    def forward(self, x: Tensor, c: Tensor | None = None, heads: tuple[str, ...] = ()) -> Any:
        """D(x, c) -> logits (N,); with heads, (logits, {head: output}): "aux" the auxiliary classifier's
        logits (N, K), "pairs" the projection score of every image with every condition (N, N)."""
        h = self.body(x).flatten(1)
        logit = self.head(h).squeeze(1)
        e = None
        if self.project is not None:
            term, e = self.project(h, c)
            logit = logit + term
        return (logit, condition_heads(self, h, e, heads)) if heads else logit


def _dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights and N(1, 0.02) norm scales, as in the DCGAN paper. Condition encoders
    (modules under an `embed`) keep the initialisation their own code chose."""
    for name, m in module.named_modules():
        if "embed" in name.split("."):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = getattr(m, "parametrizations", None)
            target = m.parametrizations.weight.original if weight is not None else m.weight
            nn.init.normal_(target, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


register_net("dcgan", "generator")(DCGANGenerator)
register_net("dcgan", "discriminator")(DCGANDiscriminator)
register_net("dcgan", "features")(feature_map(DCGANDiscriminator))
