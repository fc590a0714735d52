"""Multi-layer perceptrons for 2D (or any flat) data.

G: [z, embed(y)] -> (Linear -> norm -> ReLU) x depth -> Linear -> x   (linear output: data are not bounded)
D: x -> (Linear -> LeakyReLU(0.2)) x depth -> Linear -> logit (+ projection of y when conditional)
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.nets.base import NetSpec, Projection, check_role, maybe_spectral, norm_1d
from gankit.registry import NETS


class MLPGenerator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        out_dim = math.prod(spec.data_shape)
        self.out_shape = spec.data_shape
        self.embed = nn.Embedding(spec.num_classes, spec.z_dim) if spec.num_classes else None
        in_dim = spec.z_dim * (2 if self.embed is not None else 1)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            layers += [nn.Linear(in_dim if i == 0 else cfg.width, cfg.width), norm_1d(cfg.norm, cfg.width), nn.ReLU()]
        layers.append(nn.Linear(cfg.width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.net(z).view(len(z), *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        in_dim = math.prod(spec.data_shape)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            linear = maybe_spectral(nn.Linear(in_dim if i == 0 else cfg.width, cfg.width), cfg)
            layers += [linear, norm_1d(cfg.norm, cfg.width), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = maybe_spectral(nn.Linear(cfg.width, 1), cfg)
        self.project = Projection(cfg.width, spec.num_classes) if spec.num_classes else None

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer (N, width): the embedding a feature-map critic compares samples in."""
        return self.body(x.flatten(1))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.body(x.flatten(1))
        logit = self.head(h).squeeze(1)
        if self.project is not None:
            logit = logit + self.project(h, y)
        return logit


@NETS.register("mlp")
def build_mlp(role: str, cfg: NetConfig, spec: NetSpec) -> nn.Module:
    """MLP generator/discriminator for flat data (2D mixtures)."""
    check_role("mlp", role, ("G", "D"))
    return {"G": MLPGenerator, "D": MLPDiscriminator}[role](cfg, spec)
