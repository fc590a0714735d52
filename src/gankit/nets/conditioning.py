"""Encoders of the desired output: one per condition kind, shared by every net.

    label      (N,) int64 class ids      -> nn.Embedding(classes, dim)   (cGAN, Mirza & Osindero 2014)
    multi_hot  (N, T) float 0/1 tags     -> nn.Linear(T, dim, no bias)   (tags, Jin et al. 2017)
    embedding  (N, d) float sentence     -> nn.Linear(d, dim)            (text, Reed et al. 2016)

A generator concatenates the encoded condition to z; a discriminator projects it onto its
features (`nets.base.Projection`). Adding a kind is one decorated function here.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gankit.errors import UserError

from gankit.nets.base import ConditionSpec
from gankit.registry import CONDITIONS


@CONDITIONS.register("label")
def _label(spec: ConditionSpec, dim: int) -> nn.Module:
    return nn.Embedding(spec.dim, dim)


@CONDITIONS.register("multi_hot")
def _tags(spec: ConditionSpec, dim: int) -> nn.Module:
    return nn.Linear(spec.dim, dim, bias=False)  # the sum of the present tags' vectors


@CONDITIONS.register("embedding")
def _sentence(spec: ConditionSpec, dim: int) -> nn.Module:
    return nn.Linear(spec.dim, dim)


def condition_encoder(spec: ConditionSpec, dim: int) -> nn.Module:
    """The encoder of a `spec.kind` condition into `dim` features (weights in `.weight`)."""
    make: Callable[[ConditionSpec, int], nn.Module] = CONDITIONS.get(spec.kind)
    return make(spec, dim)


class Projection(nn.Module):
    """Projection discriminator head (Miyato & Koyama 2018): logit = psi(h) + <embed(c), h>, with the
    condition embedded by its kind's encoder (a class table, a linear map of tags or of a sentence)."""

    def __init__(self, features: int, condition: ConditionSpec) -> None:
        super().__init__()
        self.embed = condition_encoder(condition, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h: Tensor, c: Tensor) -> Tensor:  # h (N, F), c (N, ...) -> (N,)
        return (self.embed(c) * h).sum(dim=1)


def ask(spec: ConditionSpec, n: int, value: str | int | None = None) -> Tensor:
    """The condition batch for n samples asked for `value` (from `--condition KEY=VALUE`):

    label      3 or a class name -> (n,) int64 all that class; None -> classes 0, 1, ... in turn
    multi_hot  "tag,tag" by name -> (n, T) float 0/1 all those tags; None -> one tag each, in turn
    A sentence embedding needs its text encoder, so only a game holding one can ask for text."""
    if spec.kind == "label":
        if value is None:
            return torch.arange(n) % spec.dim
        return torch.full((n,), _class_index(spec, value), dtype=torch.int64)
    if spec.kind == "multi_hot":
        out = torch.zeros(n, spec.dim)
        if value is None:
            out[torch.arange(n), torch.arange(n) % spec.dim] = 1.0
            return out
        for tag in str(value).split(","):
            out[:, _class_index(spec, tag.strip())] = 1.0
        return out
    raise UserError(f"a {spec.kind} condition cannot be asked for here: this model has no encoder for it")


def _class_index(spec: ConditionSpec, value: str | int) -> int:
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < spec.dim:
            raise UserError(f"{text} is out of range; this model has classes 0..{spec.dim - 1}")
        return index
    if text in spec.names:
        return spec.names.index(text)
    shown = ", ".join(spec.names[:12]) + (" ..." if len(spec.names) > 12 else "")
    raise UserError(f"{text!r} is not a class or tag of this model; it knows 0..{spec.dim - 1}" +
                    (f" ({shown})" if shown else ""))
