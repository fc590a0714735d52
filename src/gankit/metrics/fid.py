"""Fréchet Inception Distance (Heusel et al. 2017), in any feature space.

Fit a Gaussian to each set of features, N(mu_f, S_f) and N(mu_r, S_r), and take the squared
2-Wasserstein (Fréchet) distance between them:

    FID = |mu_f - mu_r|^2 + tr(S_f) + tr(S_r) - 2 tr((S_f^(1/2) S_r S_f^(1/2))^(1/2))

tr((S_f S_r)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
PSD matrix S_f^(1/2) S_r S_f^(1/2) (similar to S_f S_r): two symmetric eigendecompositions in
float64, no general matrix square root with complex round-off to discard.
Covariances use 1/(N-1), as the reference TTUR / pytorch-fid code (np.cov).
"""
from __future__ import annotations

import torch
from torch import Tensor

from gankit.metrics.base import EvalContext, Score, register_metric

BOOTSTRAP = 50  # resamples for the interval; skipped above MAX_BOOTSTRAP_DIM (2048-d Inception: minutes)
MAX_BOOTSTRAP_DIM = 512


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """(N, d) -> mean (d,) and covariance (d, d), both float64."""
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need (N >= 2, d) features, got {tuple(features.shape)}")
    x = features.detach().to("cpu", torch.float64)
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _sqrt_psd(s: Tensor) -> Tensor:
    """Symmetric square root of a PSD matrix; tiny negative eigenvalues (round-off) count as 0."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: Tensor, s1: Tensor, mu2: Tensor, s2: Tensor) -> float:
    """|mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr((s1^(1/2) s2 s1^(1/2))^(1/2)), in float64."""
    mu1, s1, mu2, s2 = (t.to(torch.float64) for t in (mu1, s1, mu2, s2))
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    eig = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0)
    value = float((mu1 - mu2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * eig.sqrt().sum())
    return max(value, 0.0)  # a distance: a -1e-12 from round-off is 0


def fid_from_features(fake: Tensor, real: Tensor) -> float:
    """FID between two feature sets (N, d) and (M, d)."""
    return frechet_distance(*gaussian_stats(fake), *gaussian_stats(real))


def bootstrap_fid(fake: Tensor, real: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """FIDs of `n` resamples (with replacement) of both sets: their spread is the sampling error.
    Resampling duplicates points, which biases each value up a little: read the interval as a
    width, not as bounds around the point estimate."""
    out = []
    for _ in range(n):
        i = torch.randint(len(fake), (len(fake),), generator=generator)
        j = torch.randint(len(real), (len(real),), generator=generator)
        out.append(fid_from_features(fake[i], real[j]))
    return torch.tensor(out, dtype=torch.float64)


@register_metric("fid", kind="images", formula=fid_from_features, needs=("feature_net", "reference"), min_n=50)
def evaluate_fid(ctx: EvalContext) -> list[Score]:
    """Fréchet distance between Gaussians fitted to fake and real features (lower is better)."""
    fake, real = ctx.features("fake"), ctx.features("real")
    value = fid_from_features(fake, real)
    n_boot = int(ctx.options.get("fid_bootstrap", BOOTSTRAP))
    extra: dict = {"formula": "|mu_f-mu_r|^2 + tr(S_f + S_r - 2 (S_f^1/2 S_r S_f^1/2)^1/2)"}
    if n_boot > 0 and fake.shape[1] <= MAX_BOOTSTRAP_DIM:
        boot = bootstrap_fid(fake, real, n_boot, ctx.generator(11))
        extra.update(std=float(boot.std()), ci95=[float(boot.quantile(0.025)), float(boot.quantile(0.975))],
                     ci_method=f"bootstrap over fake and real samples, {n_boot} resamples")
    return [Score("fid", value, ctx.feature_net, extra)]
