"""Image corruptions of growing strength: the classic sanity check of a quality metric.

Heusel et al. (2017, Fig. 1/A1) show FID rising monotonically as real images are disturbed more
and more; a feature space in which it does not is not measuring image quality. Each function
takes images (N, C, H, W) in [-1, 1] and a level, and is deterministic given `generator`.

    gaussian_noise(x, sigma)    x + sigma * N(0, 1), clamped (sigma in [-1, 1] pixel units)
    blur(x, sigma)              separable Gaussian blur, std sigma pixels, reflected borders
    pixel_swap(x, fraction)     in each image, a random `fraction` of the pixel positions
                                exchange their values (a random permutation among them)
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Corruption = Callable[[Tensor, float, torch.Generator], Tensor]


def gaussian_noise(x: Tensor, sigma: float, generator: torch.Generator) -> Tensor:
    return (x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp(-1, 1)


def blur(x: Tensor, sigma: float, generator: torch.Generator | None = None) -> Tensor:
    if sigma <= 0:
        return x.clone()
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    mode = "reflect" if radius < min(x.shape[-2:]) else "replicate"  # reflect needs pad < side
    out = x
    rows, cols = (k.view(1, 1, 1, -1), (radius, radius, 0, 0)), (k.view(1, 1, -1, 1), (0, 0, radius, radius))
    for kernel, padding in (rows, cols):
        out = F.conv2d(F.pad(out, padding, mode=mode), kernel.expand(c, 1, *kernel.shape[2:]), groups=c)
    return out


def pixel_swap(x: Tensor, fraction: float, generator: torch.Generator) -> Tensor:
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w).clone()
    k = round(fraction * h * w)
    if k < 2:
        return flat.reshape(x.shape)
    for i in range(n):
        pos = torch.randperm(h * w, generator=generator)[:k]
        flat[i][:, pos] = flat[i][:, pos[torch.randperm(k, generator=generator)]]
    return flat.reshape(x.shape)


CORRUPTIONS: dict[str, tuple[Corruption, tuple[float, ...]]] = {
    "gaussian_noise": (gaussian_noise, (0.05, 0.1, 0.2, 0.35, 0.5)),
    "blur": (blur, (0.5, 1.0, 1.5, 2.0, 3.0)),
    "pixel_swap": (pixel_swap, (0.05, 0.1, 0.2, 0.35, 0.5)),
}
