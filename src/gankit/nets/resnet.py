"""CycleGAN's ResNet-block generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016).

kind "translator": NetSpec(in_shape=(C_in, H, W), out_shape=(C_out, H, W)); G(x) -> (N, C_out, H, W) in [-1, 1].

With w = cfg.width (paper 64) and R = cfg.depth residual blocks (paper 6 at 128 px, 9 at 256 px):

    c7s1-w, d2w, d4w, R4w x R, u2w, uw, c7s1-C_out -> tanh

c7s1-k: reflection pad 3, Conv 7x7 stride 1 -> k, norm, ReLU (the last one: no norm, tanh instead).
dk: Conv 3x3 stride 2 -> k, norm, ReLU.    uk: ConvT 3x3 stride 1/2 -> k, norm, ReLU.
Rk: x + (reflection pad 1, Conv 3x3 -> k, norm, ReLU, reflection pad 1, Conv 3x3 -> k, norm).

Every stride-1 conv pads by reflection, so borders carry image content instead of a frame of zeros
and the size is kept. The two downsamplings are kept at every size: the bottleneck is H/4 (8x8 at
32 px, 4x4 at 16 px); H must be a multiple of 4 and >= 8 (reflection needs 2 pixels at H/4).
Norm is cfg.norm; the paper's is instance (set norm = "instance" in the net's config).
"""
from __future__ import annotations

from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, norm_2d, register_net
from gankit.nets.unet import pix2pix_init, translation_shapes


class ResnetBlock(nn.Module):
    """Rk: two reflection-padded 3x3 convs with norm, added to the input (no ReLU after the sum, as CycleGAN)."""

    def __init__(self, channels: int, norm: str, bias: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_2d(norm, channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_2d(norm, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        c_in, c_out, side = translation_shapes(spec, "resnet")
        if side % 4 or side < 8:
            raise UserError(f"the resnet translator halves the image twice: its side must be a multiple of 4 "
                            f"and >= 8, got {side}")
        w, bias = cfg.width, cfg.norm == "none"

        def block(conv: nn.Module, k: int) -> list[nn.Module]:
            return [conv, norm_2d(cfg.norm, k), nn.ReLU()]

        layers = [nn.ReflectionPad2d(3), *block(nn.Conv2d(c_in, w, 7, bias=bias), w),
                  *block(nn.Conv2d(w, 2 * w, 3, 2, 1, bias=bias), 2 * w),
                  *block(nn.Conv2d(2 * w, 4 * w, 3, 2, 1, bias=bias), 4 * w),
                  *[ResnetBlock(4 * w, cfg.norm, bias) for _ in range(max(cfg.depth, 0))],
                  *block(nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1, bias=bias), 2 * w),
                  *block(nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1, bias=bias), w),
                  nn.ReflectionPad2d(3), nn.Conv2d(w, c_out, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        pix2pix_init(self)

    def forward(self, x: Tensor) -> Tensor:
        """G(x): (N, C_in, H, W) -> (N, C_out, H, W) in [-1, 1]."""
        return self.body(x)


register_net("resnet", "translator")(ResnetTranslator)
