"""Translation scores against the ground truth (pix2pix, CycleGAN on data with exact targets).

Images are (N, C, H, W) float in [-1, 1], as the nets see them; every score is taken on
u = (x + 1) / 2 in [0, 1] (the units of the papers' and scikit-image's numbers). Per-image scores
return (N,) float64; average them over the set.

    l1(a, b)            mean |u_a - u_b| per image                                   lower is better
    psnr(a, b)          10 log10(R^2 / MSE) per image, capped at 100 dB              higher is better
    ssim(a, b)          Wang et al. 2004, Gaussian window 11 / sigma 1.5             1 = identical
    cycle_error(x, x')  mean |u_x - u_x'| over the set (CycleGAN's F(G(x)) ~ x)     lower is better
    segmentation_scores(pred, truth, classes, names)
                        the FCN-score table (pix2pix Table 1, CycleGAN Table 2): per-pixel acc.,
                        per-class acc., class IoU, and each class's accuracy and IoU by name
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import UserError

__all__ = ["PSNR_CAP_DB", "confusion", "cycle_error", "l1", "psnr", "segmentation_scores", "ssim"]

PSNR_CAP_DB = 100.0  # identical images: MSE floored at R^2 * 1e-10, so PSNR <= 100 dB (finite, comparable)
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _unit(a: Tensor, b: Tensor, what: str = "images") -> tuple[Tensor, Tensor]:
    """Both batches checked alike and mapped from [-1, 1] to [0, 1] in float64."""
    if a.shape != b.shape:
        raise UserError(f"{what} {tuple(a.shape)} and their targets {tuple(b.shape)} differ in shape")
    if a.ndim != 4:
        raise UserError(f"{what} must be (N, C, H, W); got shape {tuple(a.shape)}")
    return (a.double() + 1) / 2, (b.double() + 1) / 2


def l1(a: Tensor, b: Tensor) -> Tensor:
    """(N,) mean absolute error per image in [0, 1] pixel units: mean_{c,h,w} |u_a - u_b|."""
    ua, ub = _unit(a, b)
    return (ua - ub).abs().flatten(1).mean(1)


def psnr(a: Tensor, b: Tensor, data_range: float = 1.0) -> Tensor:
    """(N,) peak signal-to-noise ratio in dB on [0, 1] images:
    PSNR = 10 log10(R^2 / MSE), MSE = mean_{c,h,w} (u_a - u_b)^2, R = data_range (1 for [0, 1]).
    MSE is floored at R^2 * 10^(-PSNR_CAP_DB / 10), so identical images score PSNR_CAP_DB (100 dB)."""
    ua, ub = _unit(a, b)
    mse = (ua - ub).pow(2).flatten(1).mean(1)
    floor = data_range ** 2 * 10 ** (-PSNR_CAP_DB / 10)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(floor))


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> Tensor:
    """The normalised 1-D Gaussian g_k = exp(-k^2 / 2 sigma^2) / sum, k = -(size-1)/2 ... (size-1)/2."""
    k = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-k ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(a: Tensor, b: Tensor) -> Tensor:
    """(N,) structural similarity (Wang et al. 2004) on [0, 1] images, per channel, then averaged.

    With Gaussian-weighted local statistics (window 11, sigma 1.5; population, not sample, covariance):
        mu_x = g * x,  sigma_x^2 = g * x^2 - mu_x^2,  sigma_xy = g * (x y) - mu_x mu_y
        SSIM map = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
        C1 = (K1 R)^2, C2 = (K2 R)^2, K1 = 0.01, K2 = 0.03, R = 1
    and the score is the map's mean over the VALID positions only (no padding: the (H-10) x (W-10)
    windows that lie inside the image). This equals scikit-image's
    structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1, channel_axis=0): it filters with reflect padding, then crops (11-1)/2 = 5 pixels
    off every side before averaging, which leaves exactly the windows that never read the padding
    (checked against scikit-image 0.26: equal to 1e-15 at 11 to 64 px).
    """
    ua, ub = _unit(a, b)
    n, c, h, w = ua.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise UserError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels; got {h}x{w}")
    g = _gaussian_window()

    def blur(t: Tensor) -> Tensor:  # separable Gaussian, valid: (N*C, 1, H, W) -> (N*C, 1, H-10, W-10)
        t = F.conv2d(t, g.view(1, 1, 1, -1))
        return F.conv2d(t, g.view(1, 1, -1, 1))

    x, y = ua.reshape(n * c, 1, h, w), ub.reshape(n * c, 1, h, w)
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov_xy = blur(x * y) - mu_x * mu_y
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    # Every channel's map has the same size, so the mean over (C, H', W') = the mean of the channel means.
    return s.reshape(n, -1).mean(1)


def cycle_error(x: Tensor, x_rec: Tensor) -> float:
    """Cycle-reconstruction error: mean_{n,c,h,w} |u_x - u_rec| in [0, 1] units (CycleGAN: x -> G -> F -> x_rec)."""
    return float(l1(x, x_rec).mean())


def confusion(pred: Tensor, truth: Tensor, classes: int) -> Tensor:
    """(K, K) int64 pixel counts: row = true class, column = predicted class, over every pixel given."""
    if pred.shape != truth.shape:
        raise UserError(f"predicted label maps {tuple(pred.shape)} and true ones {tuple(truth.shape)} differ in shape")
    if pred.dtype.is_floating_point or truth.dtype.is_floating_point:
        raise UserError(f"label maps must hold integer class ids; got {pred.dtype} and {truth.dtype}")
    p, t = pred.reshape(-1).long(), truth.reshape(-1).long()
    for name, m in (("predicted", p), ("true", t)):
        if len(m) and (int(m.min()) < 0 or int(m.max()) >= classes):
            raise UserError(f"{name} label maps hold class ids {int(m.min())}..{int(m.max())}; "
                            f"expected 0..{classes - 1}")
    return torch.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)


def segmentation_scores(pred: Tensor, truth: Tensor, classes: int, names: Sequence[str]) -> dict[str, Any]:
    """The FCN-score table of label maps `pred` against `truth`, both (N, H, W) integer class ids.

    One confusion matrix M over every pixel of the set (M[t, p] = pixels of true class t predicted p),
    as the pix2pix/CycleGAN evaluation accumulates it over the whole test set, then:
        per_pixel_accuracy  = sum_c M[c,c] / sum M
        accuracy_by_class c = M[c,c] / sum_p M[c,p]                         (recall of class c)
        iou_by_class c      = M[c,c] / (sum_p M[c,p] + sum_t M[t,c] - M[c,c])
        per_class_accuracy  = mean of accuracy_by_class,  class_iou = mean of iou_by_class
    over the classes PRESENT in `truth` only: a class absent from the truth has no accuracy, and its
    IoU would be 0 for any false positive or 0/0 without; it is reported as None and left out of both
    means (its false positives still lower the other classes' accuracy and IoU). (The papers' code
    keeps an absent class's IoU of 0 in the mean when it was predicted; over a whole test set every
    class is present, so the two agree there.)
    """
    if len(names) != classes:
        raise UserError(f"{classes} classes but {len(names)} names ({', '.join(names)})")
    m = confusion(pred, truth, classes).double()
    total = float(m.sum())
    if total == 0:
        raise UserError("no pixels to score: the label maps are empty")
    hits, support, predicted = m.diagonal(), m.sum(1), m.sum(0)
    present = support > 0
    acc = hits / support.clamp_min(1)
    iou = hits / (support + predicted - hits).clamp_min(1)
    by_acc = {n: (float(acc[i]) if present[i] else None) for i, n in enumerate(names)}
    by_iou = {n: (float(iou[i]) if present[i] else None) for i, n in enumerate(names)}
    return {
        "per_pixel_accuracy": float(hits.sum()) / total,
        "per_class_accuracy": float(acc[present].mean()),
        "class_iou": float(iou[present].mean()),
        "accuracy_by_class": by_acc,
        "iou_by_class": by_iou,
        "absent_classes": [n for i, n in enumerate(names) if not present[i]],
        "pixels": int(total),
    }
