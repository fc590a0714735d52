"""PatchGAN discriminator (Isola et al. 2017, 2.2.2 and appendix 6.1.2; CycleGAN uses the same).

D judges every overlapping patch of an image as real or fake instead of the whole image: it is a
fully convolutional net whose output pixels each see one receptive field. With w = cfg.width (paper
64) and n = cfg.depth (pix2pix's n_layers; paper 3, the 70x70 PatchGAN):

    Conv 4x4 stride 2 -> w, LeakyReLU 0.2                                     (no norm)
    (Conv 4x4 stride 2 -> norm -> LeakyReLU 0.2) x (n - 1), doubling channels (at most 8w)
    Conv 4x4 stride 1 -> norm -> LeakyReLU 0.2
    Conv 4x4 stride 1 -> 1                                                    one logit per patch

Every conv pads 1. The receptive field r(n) = 9 * 2^n - 2 (r = (r - 1) * stride + 4 from the output
back). An image of side H gives an H/2^n - 2 square of patch logits:

    depth  patch   16 px   32 px   64 px   128 px  256 px
      1     16     6x6     14x14   30x30   62x62   126x126
      2     34     2x2     6x6     14x14   30x30   62x62
      3     70     --      2x2     6x6     14x14   30x30    (pix2pix, CycleGAN)
      4    142     --      --      2x2     6x6     14x14

The paper's 70 px patches cover about a quarter of a 256 px image's side. At 32 px use depth 1
(16x16 patches, half the side); at 64 px depth 2 (34x34). Deeper nets see the whole image in each
patch and act as image-level discriminators. A depth with no output patch left is refused.

Conditional D (pix2pix): with spec.condition = ConditionSpec(kind="image", dim=C_cond,
shape=(C_cond, H, W)), D(x, c) judges the pair: the input image c is concatenated to x on channels.
Without a condition D(x, c=None) ignores c.

D(x, c=None): x (N, C, H, W) -> logits (N, P), P = number of patches, row-major.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, maybe_spectral, norm_2d, register_net
from gankit.nets.unet import MAX_MULT, pix2pix_init


def _layers(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of every conv, input to output."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch one output logit sees: 1 -> 16, 2 -> 34, 3 -> 70."""
    r = 1
    for kernel, stride in reversed(_layers(n_layers)):
        r = (r - 1) * stride + kernel
    return r


def patch_grid(side: int, n_layers: int) -> int:
    """Side of the square of patch logits for an image of `side` px (< 1: none)."""
    for kernel, stride in _layers(n_layers):
        side = (side + 2 - kernel) // stride + 1 if side > 0 else 0
    return side


class PatchDiscriminator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        shape, cond, n = spec.in_shape, spec.condition, cfg.depth
        if len(shape) != 3 or shape[1] != shape[2]:
            raise UserError(f"the patchgan discriminator needs square images (C, H, H), got data of shape {shape}")
        side = shape[1]
        if n < 1 or patch_grid(side, n) < 1:
            most = max((k for k in range(1, 12) if patch_grid(side, k) >= 1), default=0)
            raise UserError(f"patchgan depth {n} leaves no output patch at {side} px; use depth 1 to {most} "
                            f"(receptive fields {', '.join(str(receptive_field(k)) for k in range(1, most + 1))} px)")
        self.c_cond = 0
        if cond is not None:
            if cond.kind != "image" or (cond.shape and tuple(cond.shape[1:]) != tuple(shape[1:])):
                raise UserError(f"the patchgan discriminator is conditioned on an image of the data's size "
                                f"(kind 'image', shape (C, {side}, {side})); got kind {cond.kind!r} shape {cond.shape}")
            self.c_cond = cond.dim
        w, bias = cfg.width, cfg.norm == "none"
        chans = [w * min(2 ** i, MAX_MULT) for i in range(n + 1)]

        def conv(c_in: int, c_out: int, stride: int, normed: bool) -> list[nn.Module]:
            layer = maybe_spectral(nn.Conv2d(c_in, c_out, 4, stride, 1, bias=bias or not normed), cfg)
            return [layer, *([norm_2d(cfg.norm, c_out)] if normed else []), nn.LeakyReLU(0.2)]

        layers = conv(shape[0] + self.c_cond, chans[0], 2, normed=False)
        for i in range(1, n):
            layers += conv(chans[i - 1], chans[i], 2, normed=True)
        layers += conv(chans[n - 1], chans[n], 1, normed=True)
        layers.append(maybe_spectral(nn.Conv2d(chans[n], 1, 4, 1, 1), cfg))
        self.body = nn.Sequential(*layers)
        self.patches = patch_grid(side, n) ** 2
        pix2pix_init(self)

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """D(x, c) -> (N, P) patch logits; c (N, C_cond, H, W) the input image when conditional, else ignored."""
        if self.c_cond:
            if c is None:
                raise UserError("this patchgan discriminator is conditional: call D(x, c) with the input image c")
            if c.dim() != 4 or c.shape[1] != self.c_cond or c.shape[0] != x.shape[0] or c.shape[2:] != x.shape[2:]:
                raise UserError(f"patchgan condition c must be (N, {self.c_cond}, H, W) like x {tuple(x.shape)}, "
                                f"got {tuple(c.shape)}")
            x = torch.cat([c, x], dim=1)  # (input, output) as pix2pix's code orders the pair
        return self.body(x).flatten(1)


register_net("patchgan", "discriminator")(PatchDiscriminator)
