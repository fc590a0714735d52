"""What a net factory receives and the conventions every player follows.

A net is chosen by its architecture (`nets.PLAYER.arch`, the user's choice) and its kind (what
the game needs the player to be: generator, discriminator, ...), never by the player's name:
factories are registered as "arch/kind" with `register_net` and called as `factory(cfg, spec)`.

Generators: `G(z, c=None) -> x` with z (N, z_dim) and c a condition batch or None.
Discriminators: `D(x, c=None) -> logits` of shape (N,) (PatchGAN: (N, P), one per patch); the
sigmoid of a logit is D's probability that x is real (for the logistic losses). An image condition
(pix2pix's input) is ConditionSpec kind "image", concatenated to x on channels.
Translators: `G(x) -> y`, an image to an image; their only noise is dropout (pix2pix).
Conditions (label ids, multi-hot tags, sentence embeddings) enter every net through one
encoder per kind (nets/conditioning.py): concatenated to z in G, projected in D.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from gankit import batch_part
from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.registry import NETS


@dataclass(frozen=True)
class ConditionSpec:
    """What a conditional net is conditioned on: kind (label | multi_hot | embedding | tokens | image | latent),
    its size (classes, tags, embedding dimension or z_dim) and the names of its values."""

    kind: str
    dim: int
    names: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()  # one example's shape (tokens: (K, L) or (L,))
    augment: bool = False  # generators: conditioning augmentation (StackGAN)
    aux: bool = False  # discriminators: an auxiliary head that predicts the condition (ACGAN)
    unary: bool = False  # joint discriminators: scores of x alone and of z alone beside the pair's (BigBiGAN)


@dataclass(frozen=True)
class NetSpec:
    """What a net needs to know: one input's and one output's shape, and its condition if any.

    generator:      in_shape (z_dim,)       out_shape (C, H, W) or (2,)
    translator:     in_shape (C_in, H, W)   out_shape (C_out, H, W) -- an image to an image (pix2pix, CycleGAN)
    discriminator:  in_shape (C, H, W)      out_shape () -- one logit per example (a PatchGAN: one per patch,
                                            (N, P); the losses average over every logit alike)
    encoder:        in_shape (C, H, W) or (2,)  out_shape (k,) -- x to z's statistics (ALI, BiGAN; nets/encoder.py)
    joint:          in_shape (C, H, W) or (2,)  out_shape (), condition ConditionSpec("latent", z_dim) -- D(x, z)
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    condition: ConditionSpec | None = None


def register_net(arch: str, kind: str) -> Callable:
    """Decorator: `factory(cfg: NetConfig, spec: NetSpec) -> nn.Module` builds `kind` nets of `arch`."""
    return NETS.register(f"{arch}/{kind}")


def build_net(cfg: NetConfig, kind: str, spec: NetSpec) -> nn.Module:
    """The `kind` net of architecture cfg.arch for `spec`, or one line saying what exists."""
    key = f"{cfg.arch}/{kind}"
    if key not in NETS:
        archs = sorted({n.split("/")[0] for n in NETS.names()})
        if cfg.arch not in archs:
            raise UserError(f"unknown net arch {cfg.arch!r}; known: {', '.join(archs)}")
        kinds = [n.split("/")[1] for n in NETS.names() if n.startswith(cfg.arch + "/")]
        raise UserError(f"net arch {cfg.arch!r} cannot build a {kind}; it builds: {', '.join(kinds)}")
    return NETS.get(key)(cfg, spec)


# Priors of z: (n, dim, generator, device) -> (n, dim) float32.
_PRIORS: dict[str, Callable[..., Tensor]] = {
    "normal": lambda n, dim, generator, device: torch.randn(n, dim, generator=generator, device=device),
    "uniform": lambda n, dim, generator, device: torch.rand(n, dim, generator=generator, device=device) * 2 - 1,
}


def sample_noise(dist: str, n: int, dim: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
    """n draws of z from the named prior (normal | uniform on [-1, 1]); under DDP, this process's rows of
    the draw for the global batch (gankit/batch_part.py)."""
    return batch_part.rows(n, lambda m: _PRIORS[dist](m, dim, generator, device))


def norm_1d(kind: str, width: int) -> nn.Module:
    """Normalisation after a linear layer: none | batch | layer."""
    if kind == "instance":
        raise UserError("norm=instance is for conv nets (per-channel image statistics); use none, batch or layer here")
    return {"none": nn.Identity, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}[kind](width)


def norm_2d(kind: str, channels: int) -> nn.Module:
    """Normalisation after a conv layer (none | batch | layer | instance); 'layer' normalises over (C, H, W) per example
    (GroupNorm with one group), which keeps examples independent as WGAN-GP needs."""
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":  # per example and channel, no running statistics (pix2pix, CycleGAN)
        return nn.InstanceNorm2d(channels, affine=True)
    return {"none": nn.Identity, "batch": nn.BatchNorm2d}[kind](channels)


def maybe_spectral(module: nn.Module, cfg: NetConfig) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of a layer's weight when asked."""
    return nn.utils.parametrizations.spectral_norm(module) if cfg.spectral_norm else module


def feature_map(discriminator: type[nn.Module]) -> type[nn.Module]:
    """The "features" kind of an arch: its discriminator whose forward is its feature map,
    F(x) -> (N, d). A subclass rather than a wrapper, so its weights have the discriminator's names
    (a D's checkpoint or init_from loads into it) and a game calls it like any player (through
    whatever wrapper the loop put around it)."""

    def forward(self: nn.Module, x: Tensor, c: Tensor | None = None) -> Tensor:
        return self.features(x)

    return type(f"{discriminator.__name__}Features", (discriminator,), {"forward": forward,
                                                                       "__doc__": feature_map.__doc__})
