"""pix2pix's U-Net generator (Isola et al. 2017, appendix 6.1.1; Ronneberger et al. 2015).

kind "translator": NetSpec(in_shape=(C_in, H, W), out_shape=(C_out, H, W)); G(x) -> (N, C_out, H, W) in [-1, 1].
C_in may differ from C_out (edges -> RGB, RGB -> label palette).

With w = cfg.width (paper 64) and n down levels, Ck = Conv 4x4 stride 2 -> k channels:

    encoder  C_w - C_2w - C_4w - C_8w - C_8w ...          (LeakyReLU 0.2; norm except the first and
                                                           the innermost layer)
    decoder  CD - CD - CD - C - ... back to H/2           (ReLU -> ConvT 4x4 stride 2 -> norm [-> Dropout 0.5])
             -> ReLU -> ConvT 4x4 stride 2 -> C_out -> tanh

Channels stop doubling at 8w. Level i's encoder features are concatenated to the decoder's input at
the same resolution (the skip connections), so low-level detail -- edges, positions -- need not pass
through the bottleneck. n = cfg.depth, capped at the number of halvings of H (log2 H for a power of
two); depth 0 or >= that goes all the way down to 1x1, as the paper's 256 px net does (8 levels).

Norm (cfg.norm; the paper's is batch, "instance" is the usual alternative): never on the first layer
(the paper) nor on the innermost encoder layer (the papers' code): batch norm on a 1x1 map with small
batches zeroes it, and instance norm of one pixel is undefined.

Noise: pix2pix drops z (G learnt to ignore it) and takes its only noise from dropout 0.5 in the three
innermost decoder blocks (cfg.dropout; CycleGAN's U-Net runs without: 0), which the paper keeps on at
test time as well. gankit uses nn.Dropout:
on in train mode and off in eval mode, so a trained G's translations are deterministic (call
G.train() to sample pix2pix's way; batch norm then uses batch statistics too).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, norm_2d, register_net

MAX_MULT = 8  # channels stop doubling at 8x the base width (C512 for w = 64)
DROPOUT_BLOCKS = 3  # pix2pix: CD512-CD512-CD512, the first three decoder blocks


def translation_shapes(spec: NetSpec, arch: str) -> tuple[int, int, int]:
    """(C_in, C_out, side) of a translator's spec: square images of one size in and out."""
    a, b = spec.in_shape, spec.out_shape
    if len(a) != 3 or len(b) != 3 or a[1] != a[2] or a[1:] != b[1:]:
        raise UserError(f"{arch} translators map a square image to one of the same size (C, H, H); got {a} -> {b}")
    return a[0], b[0], a[1]


def levels(side: int, depth: int) -> int:
    """U-Net down levels for an image side: `depth`, capped at the number of times side halves evenly."""
    most = 0
    while side % 2 == 0 and side > 1:
        side //= 2
        most += 1
    if most == 0:
        raise UserError(f"the unet translator needs an even image side, got {side}")
    return most if depth <= 0 or depth >= most else depth


def pix2pix_init(module: nn.Module) -> None:
    """N(0, 0.02) conv and linear weights, N(1, 0.02) norm scales, zero biases (DCGAN, pix2pix, CycleGAN)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = getattr(m, "parametrizations", None)
            nn.init.normal_(weight.weight.original if weight is not None else m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class UNetTranslator(nn.Module):
    """down[i]: level i's encoder layer (-> H / 2^(i+1)); up[i]: the decoder layer back to level i's input
    size, fed level i's features joined to the decoder output below it (the innermost: its own only)."""

    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        c_in, c_out, side = translation_shapes(spec, "unet")
        n = levels(side, cfg.depth)
        chans = [cfg.width * min(2 ** i, MAX_MULT) for i in range(n)]
        bias = cfg.norm == "none"  # a norm's shift makes a conv bias redundant
        self.down = nn.ModuleList()
        for i in range(n):
            normed = 0 < i < n - 1
            conv = nn.Conv2d(c_in if i == 0 else chans[i - 1], chans[i], 4, 2, 1, bias=bias or not normed)
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            self.down.append(nn.Sequential(*layers, conv, *([norm_2d(cfg.norm, chans[i])] if normed else [])))
        self.up = nn.ModuleList()
        for i in range(n):
            width_in = chans[i] * (1 if i == n - 1 else 2)
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(width_in, c_out, 4, 2, 1), nn.Tanh()))
                continue
            dropout = [nn.Dropout(cfg.dropout)] if cfg.dropout > 0 and i >= n - DROPOUT_BLOCKS else []
            self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(width_in, chans[i - 1], 4, 2, 1, bias=bias),
                                         norm_2d(cfg.norm, chans[i - 1]), *dropout))
        pix2pix_init(self)

    def forward(self, x: Tensor) -> Tensor:
        """G(x): (N, C_in, H, W) -> (N, C_out, H, W) in [-1, 1]."""
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
        h = self.up[-1](skips[-1])
        for i in range(len(self.up) - 2, -1, -1):
            h = self.up[i](torch.cat([skips[i], h], dim=1))
        return h


register_net("unet", "translator")(UNetTranslator)
