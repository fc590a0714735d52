"""Mode counting on Gaussian mixtures: the VEEGAN/PacGAN protocol for ring8 and grid25.

What PacGAN's code does (github.com/fjxmlzn/PacGAN, file
synthetic_data_experiments/PacGAN/pacgan/extensions.py, class ``MetricLogger``, on the 2,500
points that ``GraphLogger`` draws from a fixed z, ``num_log_figure_sample = 2500``):

1. each sample goes to the mode with the smallest standardised distance
   ``sqrt(sum((x - mu_j)^2 / var_j))`` (diagonal variances; here one shared isotropic sigma,
   so that is the Euclidean nearest mean, distance / sigma);
2. the sample is *high quality* iff that distance is ``< dis_thre = 3`` (strict), and only
   then is it added to its mode's count (``detail_of_coverage``);
3. ``mode coverage`` = number of modes with a count > 0, so ONE high-quality sample captures
   a mode (no minimum count); ``good points percentage`` = sum(counts) / N.

The reverse KL is not in that file; PacGAN computes it (stacked-MNIST code,
stacked_MNIST_experiments/VEEGAN_experiment/model.py, ``log_metrics``) as
``JSD().KLD(p, q)`` with p the normalised mode histogram, q uniform (1/K) and
``sum(p * log(p / q) for p, q if p != 0)``: empty modes contribute 0 (0 log 0 = 0), with no
smoothing. Applied here to the histogram of high-quality samples:

    KL(p || u) = sum_{k: p_k > 0} p_k * log(p_k * K),  p_k = c_k / sum_j c_j

which is 0 for a perfectly balanced histogram and log(K) when every high-quality sample is
at one mode. With no high-quality sample p is 0/0, as in PacGAN's code: reverse_kl is NaN.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gankit.data.base import Mixture
from gankit.metrics.base import EvalContext, Score, register_metric

THRESHOLD = 3.0  # standard deviations (PacGAN's dis_thre=3; VEEGAN's "three standard deviations")

PROTOCOL = (
    "VEEGAN/PacGAN: nearest mode by distance/sigma; high quality iff < 3 sigma; a mode is "
    "captured by >= 1 high-quality sample; reverse_kl = KL(p || uniform) of the high-quality "
    "mode histogram, empty modes add 0, no smoothing (github.com/fjxmlzn/PacGAN "
    "synthetic_data_experiments/PacGAN/pacgan/extensions.py MetricLogger; KL as in "
    "stacked_MNIST_experiments/VEEGAN_experiment/model.py); PacGAN scores 2,500 samples"
)


def mode_counts(samples: Tensor, mixture: Mixture) -> tuple[Tensor, Tensor]:
    """Per-mode counts of high-quality samples, and which samples are high quality.

    samples: (N, 2) float; mixture.means: (K, 2).
    Returns (counts (K,) int64, high_quality (N,) bool). A non-finite sample is never high
    quality (its distances are NaN and NaN < 3 is false).
    """
    if samples.ndim != 2 or samples.shape[1] != mixture.means.shape[1]:
        raise ValueError(
            f"samples must be (N, {mixture.means.shape[1]}), got {tuple(samples.shape)}"
        )
    if mixture.sigma <= 0:
        raise ValueError(f"mixture sigma must be > 0, got {mixture.sigma}")
    # float64 on CPU: exact enough that a point at 2.999 sigma is not pushed across the threshold.
    x = samples.detach().to("cpu", torch.float64)
    means = mixture.means.detach().to("cpu", torch.float64)
    # (N, K) Euclidean, by differences rather than cdist's |x|^2+|m|^2-2x.m shortcut, which
    # loses precision for points very close to a mean; N*K = 2,500*25 is tiny.
    dist = (x[:, None, :] - means[None, :, :]).norm(dim=2)
    # min over a NaN row gives NaN, which then fails the threshold test below.
    dmin, nearest = dist.min(dim=1)
    high = (dmin / mixture.sigma) < THRESHOLD  # strict, as PacGAN's `min_dis < self.dis_thre`
    counts = torch.bincount(nearest[high], minlength=len(means))
    return counts, high


def reverse_kl_uniform(counts: Tensor) -> float:
    """KL(p || uniform over K modes) = sum_{p_k > 0} p_k log(p_k K), p = counts / sum(counts).

    counts: (K,) non-negative. Empty modes add 0 (PacGAN's KLD skips p == 0); NaN when
    sum(counts) == 0 (p undefined, as 0/0 in PacGAN's code).
    """
    c = counts.to(torch.float64)
    total = float(c.sum())
    if total == 0:
        return math.nan
    p = c[c > 0] / total
    return float((p * (p * len(c)).log()).sum())


def score_mixture(samples: Tensor, mixture: Mixture) -> dict[str, Any]:
    """Modes captured, high-quality fraction and reverse KL of samples (N, 2) from a mixture.

    Returns {"modes": int (modes with >= 1 high-quality sample), "n_modes": K,
    "high_quality": float in [0, 1] (fraction of N within 3 sigma of its nearest mean),
    "reverse_kl": float (KL(p || uniform) of the high-quality mode histogram; NaN if none),
    "n_samples": N, "protocol": str}. The protocol scores N = 2,500 samples.
    """
    counts, high = mode_counts(samples, mixture)
    n = int(samples.shape[0])
    kl = reverse_kl_uniform(counts)
    why = {} if math.isfinite(kl) else {"reverse_kl_why": "no high-quality sample: the mode histogram is empty (0/0)"}
    return {
        "modes": int((counts > 0).sum()),
        "n_modes": int(len(counts)),
        "high_quality": float(high.sum()) / n if n else 0.0,
        "reverse_kl": kl,
        **why,
        "n_samples": n,
        "protocol": PROTOCOL,
    }


@register_metric("modes", kind="points", formula=score_mixture, needs=("mixture",))
def evaluate_modes(ctx: EvalContext) -> list[Score]:
    """Modes captured, high-quality fraction and reverse KL on a Gaussian mixture (VEEGAN/PacGAN)."""
    result = score_mixture(ctx.fake, ctx.require("mixture"))
    extra = {"protocol": result["protocol"], "n_modes": result["n_modes"]}
    return [Score(key, result[key], None, extra) for key in ("modes", "n_modes", "high_quality", "reverse_kl")]
