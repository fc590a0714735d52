"""Multi-layer perceptrons for 2D (or any flat) data.

G: [z, encode(c)] -> (Linear -> norm -> ReLU) x depth -> Linear -> x   (linear output: data are not bounded)
D: x -> (Linear -> LeakyReLU(0.2)) x depth -> Linear -> logit (+ projection of c when conditional)
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.nets.base import NetSpec, feature_map, maybe_spectral, norm_1d, register_net
from gankit.nets.conditioning import Projection, auxiliary_head, condition_heads, generator_condition


class MLPGenerator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        out_dim = math.prod(spec.out_shape)
        self.out_shape = spec.out_shape
        z_dim = math.prod(spec.in_shape)
        self.embed = generator_condition(spec.condition, z_dim)
        in_dim = z_dim * (2 if self.embed is not None else 1)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            layers += [nn.Linear(in_dim if i == 0 else cfg.width, cfg.width), norm_1d(cfg.norm, cfg.width), nn.ReLU()]
        layers.append(nn.Linear(cfg.width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(c)], dim=1)
        return self.net(z).view(len(z), *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        in_dim = math.prod(spec.in_shape)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            linear = maybe_spectral(nn.Linear(in_dim if i == 0 else cfg.width, cfg.width), cfg)
            layers += [linear, norm_1d(cfg.norm, cfg.width), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = maybe_spectral(nn.Linear(cfg.width, 1), cfg)
        self.project = Projection(cfg.width, spec.condition) if spec.condition else None
        self.aux = auxiliary_head(cfg.width, spec.condition)

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer (N, width): the embedding a feature-map critic compares samples in."""
        return self.body(x.flatten(1))

    def forward(self, x: Tensor, c: Tensor | None = None, heads: tuple[str, ...] = ()) -> Any:
        """D(x, c) -> logits (N,); with heads, (logits, {head: output}): "aux" the auxiliary classifier's
        logits (N, K), "pairs" the projection score of every image with every condition (N, N)."""
        h = self.body(x.flatten(1))
        logit = self.head(h).squeeze(1)
        e = None
        if self.project is not None:
            term, e = self.project(h, c)
            logit = logit + term
        return (logit, condition_heads(self, h, e, heads)) if heads else logit


register_net("mlp", "generator")(MLPGenerator)
register_net("mlp", "discriminator")(MLPDiscriminator)
register_net("mlp", "features")(feature_map(MLPDiscriminator))
