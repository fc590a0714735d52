"""2D toy datasets: the ring and grid Gaussian mixtures of VEEGAN/PacGAN, and three shapes.

Mixtures (mode collapse is countable on them, see `gankit.metrics.modes`):

* ``ring8``  -- K Gaussians (default 8), means r*(cos 2*pi*k/K, sin 2*pi*k/K), r = 1.0, std 0.01.
* ``grid25`` -- 25 Gaussians, means {-4, -2, 0, 2, 4}^2 (spacing 2, centred), std 0.05.

Both geometries are PacGAN's (github.com/fjxmlzn/PacGAN, files
synthetic_data_experiments/2DRing_GAN&PacGAN/config.py and .../2DGrid_GAN&PacGAN/config.py:
``MEANS = [cos(id*2*pi/8), sin(id*2*pi/8)]``, ``VARIANCES = 0.01**2 * I``; and
``MEANS = product(range(-4, 5, 2), range(-4, 5, 2))``, ``VARIANCES = 0.05**2 * I``),
with uniform priors (``x_mode_priors = None``).

Shapes (continuous, no labels): ``swissroll``, ``moons``, ``spiral``; ``scale`` is their
approximate half-width (default 2.0, so they fill roughly [-2, 2]^2) and ``sigma`` the std
of isotropic Gaussian noise added in output units (default 0.05).

Every dataset is a pure function of its `DataConfig`: the pool is drawn with a generator
seeded with `DATA_SEED`, so every run sees the same training points; the randomness of
training (batch order, z) is seeded elsewhere.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.base import Mixture, TensorData
from gankit.errors import UserError
from gankit.registry import DATASETS

DATA_SEED = 1234  # fixed: the pool is part of the dataset, not of the run

_PACGAN = "github.com/fjxmlzn/PacGAN synthetic_data_experiments"


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(DATA_SEED)


def _pool_size(cfg: DataConfig) -> int:
    """cfg.n_samples, cut to cfg.limit when that is set (limit keeps at most that many)."""
    if cfg.n_samples <= 0:
        raise UserError(f"data.n_samples must be > 0, got {cfg.n_samples}")
    return min(cfg.n_samples, cfg.limit) if cfg.limit > 0 else cfg.n_samples


def _or_default(value: float, default: float, key: str) -> float:
    """Config convention: 0 means "the dataset's published value"; negatives are refused."""
    if value < 0:
        raise UserError(f"data.{key} must be >= 0 (0 = default), got {value}")
    return float(value) if value > 0 else default


def _sample_mixture_labelled(
    mixture: Mixture, n: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """(x (n, 2) float32, y (n,) int64): mode y ~ Uniform{0..K-1}, x = means[y] + sigma * N(0, I)."""
    means = mixture.means.to(torch.float32)
    y = torch.randint(len(means), (n,), generator=generator, dtype=torch.int64)
    noise = torch.randn(n, means.shape[1], generator=generator, dtype=torch.float32)
    return means[y] + mixture.sigma * noise, y


def sample_mixture(mixture: Mixture, n: int, generator: torch.Generator) -> Tensor:
    """Fresh samples from an equal-weight isotropic Gaussian mixture.

    x_i = means[k_i] + sigma * e_i with k_i ~ Uniform{0..K-1}, e_i ~ N(0, I_2).
    Returns (n, 2) float32. Draws from `generator` only, so it is reproducible.
    """
    return _sample_mixture_labelled(mixture, n, generator)[0]


def ring_means(n_modes: int = 8, radius: float = 1.0) -> Tensor:
    """(K, 2) float32: radius * (cos(2*pi*k/K), sin(2*pi*k/K)), k = 0..K-1 (PacGAN 2D-ring)."""
    # Angles in float64 so cos(pi/2) etc. are as exact as float32 allows.
    angle = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).to(torch.float32)


def grid_means(side: int = 5, spacing: float = 2.0) -> Tensor:
    """(side**2, 2) float32: centred square grid, coordinates spacing * (i - (side-1)/2).

    side=5, spacing=2 gives {-4, -2, 0, 2, 4}^2 in PacGAN's order (itertools.product:
    first coordinate major).
    """
    coords = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1).to(torch.float32)


def _mixture_data(mixture: Mixture, cfg: DataConfig, source: str) -> TensorData:
    n = _pool_size(cfg)
    x, y = _sample_mixture_labelled(mixture, n, _generator())
    k = len(mixture.means)
    return TensorData.labelled(x, y, [f"mode {i}" for i in range(k)], kind="points", mixture=mixture,
                               source=f"{source}; {n} points, seed {DATA_SEED}")


@DATASETS.register("ring8")
def ring8(cfg: DataConfig) -> TensorData:
    """Ring of 8 Gaussians (PacGAN/VEEGAN): radius 1 (scale), std 0.01 (sigma), n_modes 8."""
    if cfg.n_modes < 0:
        raise UserError(f"data.n_modes must be >= 0 (0 = default), got {cfg.n_modes}")
    k = cfg.n_modes if cfg.n_modes > 0 else 8
    radius = _or_default(cfg.scale, 1.0, "scale")
    sigma = _or_default(cfg.sigma, 0.01, "sigma")
    mixture = Mixture(means=ring_means(k, radius), sigma=sigma)
    source = (
        f"ring8: {k} Gaussians at {radius:g}*(cos 2pi k/{k}, sin 2pi k/{k}), std {sigma:g}, "
        f"uniform weights ({_PACGAN}/2DRing_GAN&PacGAN/config.py)"
    )
    return _mixture_data(mixture, cfg, source)


@DATASETS.register("grid25")
def grid25(cfg: DataConfig) -> TensorData:
    """5x5 grid of Gaussians (PacGAN/VEEGAN): means {-4,-2,0,2,4}^2 (spacing 2), std 0.05."""
    k = cfg.n_modes if cfg.n_modes > 0 else 25
    side = math.isqrt(k)
    if cfg.n_modes < 0 or side * side != k:
        # A grid needs a square number of modes; anything else has no natural layout.
        raise UserError(f"data.n_modes for grid25 must be a square (4, 9, 25, ...), got {cfg.n_modes}")
    spacing = _or_default(cfg.scale, 2.0, "scale")
    sigma = _or_default(cfg.sigma, 0.05, "sigma")
    mixture = Mixture(means=grid_means(side, spacing), sigma=sigma)
    half = spacing * (side - 1) / 2
    source = (
        f"grid25: {side}x{side} Gaussians on [-{half:g}, {half:g}]^2 spacing {spacing:g}, "
        f"std {sigma:g}, uniform weights ({_PACGAN}/2DGrid_GAN&PacGAN/config.py)"
    )
    return _mixture_data(mixture, cfg, source)


def _shape_data(x: Tensor, source: str) -> TensorData:
    return TensorData.labelled(x.to(torch.float32), kind="points", source=source)


def _shape_params(cfg: DataConfig) -> tuple[int, float, float]:
    if cfg.n_modes != 0:
        raise UserError(f"data.n_modes applies to mixtures only (ring8, grid25), not {cfg.name}")
    return _pool_size(cfg), _or_default(cfg.scale, 2.0, "scale"), _or_default(cfg.sigma, 0.05, "sigma")


@DATASETS.register("swissroll")
def swissroll(cfg: DataConfig) -> TensorData:
    """2D Swiss roll: t ~ 1.5*pi*(1 + 2U), x = (t cos t, t sin t) * scale / (4.5*pi) + noise."""
    n, scale, sigma = _shape_params(cfg)
    g = _generator()
    # Same parametrisation as sklearn.datasets.make_swiss_roll, projected on its (x, z) plane.
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g, dtype=torch.float64))
    x = torch.stack([t * t.cos(), t * t.sin()], dim=1) * (scale / (4.5 * math.pi))
    x = x + sigma * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _shape_data(x, f"swissroll: half-width {scale:g}, noise std {sigma:g}; {n} points, seed {DATA_SEED}")


@DATASETS.register("moons")
def moons(cfg: DataConfig) -> TensorData:
    """Two interleaved half circles (sklearn's make_moons geometry), centred, half-width = scale."""
    n, scale, sigma = _shape_params(cfg)
    g = _generator()
    theta = math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    upper = torch.rand(n, generator=g) < 0.5
    # Upper moon (cos, sin); lower moon (1 - cos, 0.5 - sin); box [-1, 2] x [-0.5, 1].
    x = torch.where(upper, theta.cos(), 1 - theta.cos())
    y = torch.where(upper, theta.sin(), 0.5 - theta.sin())
    pts = (torch.stack([x - 0.5, y - 0.25], dim=1)) * (scale / 1.5)  # centred, x in [-scale, scale]
    pts = pts + sigma * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _shape_data(pts, f"moons: half-width {scale:g}, noise std {sigma:g}; {n} points, seed {DATA_SEED}")


@DATASETS.register("spiral")
def spiral(cfg: DataConfig) -> TensorData:
    """Two-arm Archimedean spiral, 1.5 turns per arm: r = t, angle = t (+pi for arm 2), t <= 3*pi."""
    n, scale, sigma = _shape_params(cfg)
    g = _generator()
    t_max = 3 * math.pi
    # t = t_max * sqrt(U): arc length grows ~t^2, so this spreads points evenly along the arm.
    t = t_max * torch.rand(n, generator=g, dtype=torch.float64).sqrt()
    sign = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, -1.0).to(torch.float64)
    pts = sign[:, None] * torch.stack([t * t.cos(), t * t.sin()], dim=1) * (scale / t_max)
    pts = pts + sigma * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _shape_data(pts, f"spiral: half-width {scale:g}, noise std {sigma:g}; {n} points, seed {DATA_SEED}")
