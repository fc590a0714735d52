"""StackGAN's stage-II generator (Zhang et al. 2017, 3.3 and Fig. 2): a low-resolution image and
its text in, an image at twice or four times the side out.

    image (C, s, s) -> Conv3x3 w, ReLU -> (Conv4x4/2 -> BN -> ReLU) down to s/4   (2w, 4w channels)
    text  -> encoder (+ conditioning augmentation) -> c_hat (d) -> replicated over the s/4 grid
    [features, c_hat] -> Conv3x3 4w, BN, ReLU -> residual blocks (2 x Conv3x3-BN, ReLU)
    -> (nearest x2 upsample -> Conv3x3 -> BN -> ReLU) until the output side -> Conv3x3 C -> tanh

A refiner corrects and adds detail to what stage I drew rather than drawing anew: the paper's
encoder-residual-decoder with the text joined in the middle. kind "refiner": NetSpec(in_shape =
stage I's image, out_shape = the output image, condition = the text), forward(image, c).

arch "stackgan-skip" adds the skip of StyleGAN2's skip generator (Karras et al. 2020) to the paper's
refiner: the output is stage I's image upsampled plus a learned correction,

    out = tanh( atanh(0.999 * upsample(image)) + r(image, c) ),   r's last conv starting at zero,

so a fresh stage II reproduces stage I sharp-for-blurry at step 0 and training only has to add the
detail; the paper's refiner must first relearn what stage I drew, through D alone, which costs more
steps than a CPU budget has. The correction acts before tanh so the sum stays in (-1, 1) unclamped.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import NetConfig
from gankit.errors import UserError
from gankit.nets.base import NetSpec, norm_2d, register_net
from gankit.nets.conditioning import generator_condition

RESIDUAL_BLOCKS = 2


class Residual(nn.Module):
    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), norm_2d(norm, channels), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, 1, 1, bias=False), norm_2d(norm, channels))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class StackRefiner(nn.Module):
    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__()
        c_in, side_in = spec.in_shape[0], spec.in_shape[-1]
        c_out, side_out = spec.out_shape[0], spec.out_shape[-1]
        ups = math.log2(side_out * 4 / side_in) if side_in % 4 == 0 else -1
        if ups != int(ups) or ups < 1:
            raise UserError(f"the stackgan refiner maps s -> 2s or 4s px with s divisible by 4; got {side_in} -> {side_out}")
        if spec.condition is None:
            raise UserError("the stackgan refiner needs a condition (the text)")
        w, d = cfg.width, 128
        self.embed = generator_condition(spec.condition, d)
        self.down = nn.Sequential(
            nn.Conv2d(c_in, w, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), norm_2d(cfg.norm, 2 * w), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), norm_2d(cfg.norm, 4 * w), nn.ReLU())
        self.joint = nn.Sequential(nn.Conv2d(4 * w + d, 4 * w, 3, 1, 1, bias=False), norm_2d(cfg.norm, 4 * w), nn.ReLU(),
                                   *[Residual(4 * w, cfg.norm) for _ in range(RESIDUAL_BLOCKS)])
        layers: list[nn.Module] = []
        ch = 4 * w
        for _ in range(int(ups)):
            nxt = max(ch // 2, w // 2)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, nxt, 3, 1, 1, bias=False),
                       norm_2d(cfg.norm, nxt), nn.ReLU()]
            ch = nxt
        self.up = nn.Sequential(*layers, nn.Conv2d(ch, c_out, 3, 1, 1))

    def correction(self, image: Tensor, c: Tensor) -> Tensor:
        """The decoder's output before tanh."""
        h = self.down(image)
        e = self.embed(c)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.up(self.joint(torch.cat([h, e], dim=1)))

    def forward(self, image: Tensor, c: Tensor) -> Tensor:
        return torch.tanh(self.correction(image, c))


class SkipRefiner(StackRefiner):
    """The paper's refiner as a correction added to stage I's upsampled image (see the module doc)."""

    def __init__(self, cfg: NetConfig, spec: NetSpec) -> None:
        super().__init__(cfg, spec)
        last = self.up[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.side = spec.out_shape[-1]

    def forward(self, image: Tensor, c: Tensor) -> Tensor:
        up = F.interpolate(image, size=(self.side, self.side), mode="bilinear", align_corners=False)
        return torch.tanh(torch.atanh(0.999 * up.clamp(-1, 1)) + self.correction(image, c))


register_net("stackgan", "refiner")(StackRefiner)
register_net("stackgan-skip", "refiner")(SkipRefiner)
