"""ALI / BiGAN's extra nets: an encoder E: x -> z and a joint discriminator D(x, z).

kind "encoder": NetSpec(in_shape=x's shape, out_shape=(k,)); E(x) -> (N, k). A stochastic encoder
    (ALI) asks for k = 2 z_dim, the mean and log standard deviation of q(z | x); a deterministic one
    (BiGAN) for k = z_dim. The game, not the net, draws z from them.
kind "joint": NetSpec(in_shape=x's shape, out_shape=(), condition=ConditionSpec("latent", z_dim));
    D(x, z) -> logits (N,). Dumoulin et al. 2017 (appendix A): an x branch, a z branch, and a joint
    net on their concatenated features, with dropout (cfg.dropout, the paper 0.2): a D that sees pairs
    can memorise them, and dropout is ALI's guard against that (dcgan: z branch and joint layers only).
    With condition.unary (BigBiGAN, Donahue & Simonyan 2019, section 3), a linear head on each branch's
    features scores x alone and z alone too: D(x, z, unary=True) -> (s_xz, s_x, s_z), three (N,) tensors.

mlp:   E = the MLP discriminator's body -> Linear(k);  D: an x branch of `depth` layers of `width`, a z branch
       of two, joint Linear(2 width, 2 width) -> Linear(1), LeakyReLU(0.2) throughout.
concat: D only: one MLP on the joined pair [x, z] (`depth` layers of `width`), the cost of a GAN's MLP D.
projection: D only: the mlp D's x and z branches, s_xz their features' inner product (no joint layers).
dcgan: E = the DCGAN discriminator's conv body (the mirror of G) -> Linear(k), so E reads images the
       way D does; D: the same conv body for x, a z branch of two Linear(4 width) layers, joint
       Linear(4 width) -> Linear(1). (ALI's CIFAR-10 D has 512 and 1024 units on a 512-d x feature;
       here the x features are the flattened 7x7 or 4x4 map, so a 1024-unit joint layer alone would
       cost more than the whole conv body: 4 width keeps D within 1.3x a GAN's D.)
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, maybe_spectral, norm_1d, norm_2d, register_net
from gankit.nets.dcgan import _dcgan_init, _channels, _check_image, stages


def _latent_dim(spec: NetSpec) -> int:
    if spec.condition is None or spec.condition.kind != "latent":
        raise UserError("a joint discriminator judges (x, z) pairs: its spec needs a latent condition")
    return spec.condition.dim


def _drop(cfg: NetConfig) -> list[nn.Module]:
    return [nn.Dropout(cfg.dropout)] if cfg.dropout > 0 else []


def _mlp_stack(cfg: NetConfig, in_dim: int, depth: int, dropout: bool) -> nn.Sequential:
    """depth x (Linear -> norm -> LeakyReLU(0.2) [-> Dropout]) from in_dim to cfg.width."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [maybe_spectral(nn.Linear(in_dim if i == 0 else cfg.width, cfg.width), cfg),
                   norm_1d(cfg.norm, cfg.width), nn.LeakyReLU(0.2), *(_drop(cfg) if dropout else [])]
    return nn.Sequential(*layers)


def _conv_body(cfg: NetConfig, shape: tuple[int, ...], dropout: bool) -> tuple[nn.Sequential, int]:
    """The DCGAN discriminator's conv stack for images of `shape`, and its flattened feature size."""
    channels, resolution = _check_image(shape)
    n, s0 = stages(resolution)
    chans = list(reversed(_channels(cfg.width, n)))  # [w, 2w, ...]
    layers: list[nn.Module] = []
    for i, c_out in enumerate(chans):
        conv = nn.Conv2d(channels if i == 0 else chans[i - 1], c_out, 4, 2, 1, bias=i == 0 or cfg.norm == "none")
        layers += [maybe_spectral(conv, cfg), *([norm_2d(cfg.norm, c_out)] if i > 0 else []), nn.LeakyReLU(0.2),
                   *(_drop(cfg) if dropout else [])]
    return nn.Sequential(*layers), chans[-1] * s0 * s0


class MLPEncoder(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        self.body = _mlp_stack(cfg, math.prod(spec.in_shape), cfg.depth, dropout=False)
        self.head = nn.Linear(cfg.width, spec.out_shape[0])

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x.flatten(1)))


class DCGANEncoder(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        self.body, features = _conv_body(cfg, spec.in_shape, dropout=False)
        self.head = nn.Linear(features, spec.out_shape[0])
        _dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x).flatten(1))


class JointDiscriminator(nn.Module):
    """D(x, z) = joint([x_branch(x), z_branch(z)]) -> logit (N,); with unary heads, also s_x = x_head(x_branch(x))
    and s_z = z_head(z_branch(z)) (BigBiGAN): the x head is a GAN's D on x alone, the z head one on z alone."""

    def __init__(self, x_branch: nn.Module, x_features: int, cfg: NetConfig, z_dim: int, z_width: int,
                 joint_width: int | None) -> None:
        """joint_width None: no joint layers, s_xz = <x_branch(x), z_branch(z)> (the projection form)."""
        super().__init__()
        self.x_branch = x_branch
        z_cfg = NetConfig(arch=cfg.arch, width=z_width, norm="none", spectral_norm=cfg.spectral_norm,
                          dropout=cfg.dropout)
        self.z_branch = _mlp_stack(z_cfg, z_dim, 2, dropout=True)
        self.joint = None if joint_width is None else nn.Sequential(
            maybe_spectral(nn.Linear(x_features + z_width, joint_width), cfg), nn.LeakyReLU(0.2), *_drop(cfg),
            maybe_spectral(nn.Linear(joint_width, 1), cfg))
        self.unary_heads: nn.ModuleList | None = None
        self._head_sizes = (x_features, z_width)

    def add_unary_heads(self, cfg: NetConfig) -> "JointDiscriminator":
        """BigBiGAN's s_x and s_z heads. Added after D is built and initialised, and only when asked, so the
        rest of D draws the same initial weights as a D without them."""
        self.unary_heads = nn.ModuleList([maybe_spectral(nn.Linear(n, 1), cfg) for n in self._head_sizes])
        return self

    def forward(self, x: Tensor, z: Tensor, unary: bool = False) -> Tensor | tuple[Tensor, Tensor, Tensor]:
        """The pair's logit (N,); unary=True: (s_xz, s_x, s_z), each (N,) (needs the unary heads). A tuple, not
        one stacked tensor: taking columns back out of a stack cost a select, and a zero-filled select_backward,
        per use (on ring8 the unary terms cost 1.1 ms a step that way; 0.4 ms as a tuple, with the game leaving
        out E's and G's constant terms)."""
        hx, hz = self.x_branch(x).flatten(1), self.z_branch(z)
        s_xz = (hx * hz).sum(1) if self.joint is None else self.joint(torch.cat([hx, hz], dim=1)).squeeze(1)
        if not unary:
            return s_xz
        if self.unary_heads is None:
            raise UserError("unary scores need a joint D built with unary heads (game.unary > 0)")
        return s_xz, self.unary_heads[0](hx).squeeze(1), self.unary_heads[1](hz).squeeze(1)


def _wants_unary(spec: NetSpec) -> bool:
    return spec.condition is not None and spec.condition.unary


def _with_unary(net: JointDiscriminator, cfg: NetConfig, spec: NetSpec) -> JointDiscriminator:
    return net.add_unary_heads(cfg) if _wants_unary(spec) else net


def _mlp_pair_d(cfg: NetConfig, spec: NetSpec, joint_width: int | None) -> JointDiscriminator:
    """An MLP x branch of `depth` layers of `width`, a z branch of two, and joint layers of joint_width (None: none)."""
    x_branch = _mlp_stack(cfg, math.prod(spec.in_shape), cfg.depth, dropout=True)
    return _with_unary(JointDiscriminator(nn.Sequential(nn.Flatten(), x_branch), cfg.width, cfg, _latent_dim(spec),
                                          cfg.width, joint_width), cfg, spec)


@register_net("mlp", "joint")
def mlp_joint(cfg: NetConfig, spec: NetSpec) -> nn.Module:
    return _mlp_pair_d(cfg, spec, 2 * cfg.width)


@register_net("projection", "joint")
def projection_joint(cfg: NetConfig, spec: NetSpec) -> nn.Module:
    """The mlp joint D without its joint layers: s_xz = <phi(x), psi(z)>, the inner product of the two
    branches' features (the projection discriminator of Miyato & Koyama 2018, with z for the label's
    embedding). With the unary heads, D's total is s_x + s_z + s_xz: a log density ratio split into the two
    marginals' and a bilinear interaction. Its cost is the x body plus a z body of two layers."""
    return _mlp_pair_d(cfg, spec, None)


@register_net("concat", "joint")
class ConcatJoint(nn.Module):
    """D(x, z) = MLP([x, z]): the plain MLP discriminator with z's coordinates joined to its input. For
    2D mixtures: it costs one GAN D, where the branched `mlp` joint D costs about three (its z branch and
    2 width joint layer are as large as its x body), and it is the toy D of BiGAN-style code."""

    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        if _wants_unary(spec):
            raise UserError("nets.D.arch=concat has no x and z branches to score alone: "
                            "game.unary needs nets.D.arch=mlp, projection or dcgan")
        self.body = _mlp_stack(cfg, math.prod(spec.in_shape) + _latent_dim(spec), cfg.depth, dropout=True)
        self.head = maybe_spectral(nn.Linear(cfg.width, 1), cfg)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.head(self.body(torch.cat([x.flatten(1), z], dim=1))).squeeze(1)


@register_net("dcgan", "joint")
def dcgan_joint(cfg: NetConfig, spec: NetSpec) -> nn.Module:
    z_dim = _latent_dim(spec)
    # No dropout on the conv maps: at 0.2 it doubled the x branch's forward time on CPU (drawing a random
    # number per activation), and memorising pairs happens where x meets z, in the joint layers, which keep it.
    body, features = _conv_body(cfg, spec.in_shape, dropout=False)
    net = JointDiscriminator(body, features, cfg, z_dim, 4 * cfg.width, 4 * cfg.width)
    _dcgan_init(net)
    return _with_unary(net, cfg, spec)  # its heads keep nn.Linear's own initialisation


register_net("mlp", "encoder")(MLPEncoder)
register_net("dcgan", "encoder")(DCGANEncoder)
