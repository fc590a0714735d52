"""Length and curvature of the image of a circle through a random deep network (Raghu et al. 2017).

Input: the circle x(theta) = R (cos(theta) e_1 + sin(theta) e_2) in R^N, N = the width (as in
Raghu et al. 2017 and Poole et al. 2016). Network: h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},
W_ij ~ N(0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2). By default R puts layer 1 at the mean-field fixed
point, q^1 = sigma_w^2 R^2 / N + sigma_b^2 = q*, the setting of Poole et al.'s length and curvature
theory (see `meanfield`), so the length of h^l should grow by sqrt(chi_1) per layer at large N.

Measured per layer (the input x first, then the pre-activations h^1..h^L):
  length     sum of the chords of the sampled closed polyline;
  curvature  total curvature, the integral of |dT/ds| ds, as the sum of the turning angles between
             consecutive chords (the discrete total curvature; 2 pi for the input circle).
Sampling is adaptive: the circle is cut into arcs, and a segment is bisected until, at every layer,
its two halves are longer than its chord by at most `rtol` (relative); the error left in the length
is then about rtol / 3 (the chord error falls 4x per bisection); for ReLU and hard-tanh, segments
are also bisected until every kink is isolated (see `_refine_arc`). `length_change` and
`curvature_change` report the largest relative change (over layers) made by the last round of bisections.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from gankit.expressivity import meanfield

_PHI = {"tanh": torch.tanh, "relu": torch.relu, "hardtanh": lambda h: torch.clamp(h, -1.0, 1.0)}


@dataclass
class Trajectory:
    """The measured length and total curvature per layer, input first (depth + 1 entries each)."""

    activation: str
    width: int
    depth: int
    sigma_w: float
    sigma_b: float
    seed: int
    radius: float
    length: list[float]
    curvature: list[float]
    n_points: int
    length_change: float
    curvature_change: float
    converged: bool
    projection: list[torch.Tensor] = field(default_factory=list, repr=False)  # (points, 2) per layer


def default_radius(act: str, width: int, sigma_w: float, sigma_b: float) -> float:
    """R with sigma_w^2 R^2 / N + sigma_b^2 = q*; sqrt(N) where q* is 0 or infinite (no fixed point to sit on)."""
    q = meanfield.q_star(act, sigma_w, sigma_b)
    if math.isinf(q) or q <= sigma_b**2:
        return math.sqrt(width)
    return math.sqrt(width * (q - sigma_b**2)) / sigma_w


def random_net(width: int, depth: int, sigma_w: float, sigma_b: float, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """depth layers of W (N, N) ~ N(0, sigma_w^2 / N) and b ~ N(0, sigma_b^2), float64."""
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(width, width, generator=g, dtype=torch.float64) * (sigma_w / math.sqrt(width)),
             torch.randn(width, generator=g, dtype=torch.float64) * sigma_b) for _ in range(depth)]


def _forward(net: list[tuple[torch.Tensor, torch.Tensor]], act: str, radius: float,
             theta: torch.Tensor) -> list[torch.Tensor]:
    """[x, h^1, ..., h^L] at angles theta; x lives in the (e_1, e_2) plane, so W^1 x needs 2 columns."""
    c, s = torch.cos(theta)[:, None] * radius, torch.sin(theta)[:, None] * radius
    w1, b1 = net[0]
    x = torch.zeros(len(theta), w1.shape[1], dtype=torch.float64)
    x[:, :1], x[:, 1:2] = c, s
    out = [x, c * w1[:, 0] + s * w1[:, 1] + b1]
    for w, b in net[1:]:
        out.append(_PHI[act](out[-1]) @ w.T + b)
    return out


def _angles(chords: torch.Tensor) -> torch.Tensor:
    """Turning angles between consecutive chord vectors: 2 atan2(|a^ - b^|, |a^ + b^|) (stable near 0)."""
    u = chords / chords.norm(dim=1, keepdim=True).clamp_min(1e-300)
    a, b = u[:-1], u[1:]
    return 2 * torch.atan2((a - b).norm(dim=1), (a + b).norm(dim=1))


def _tangents(net: list[tuple[torch.Tensor, torch.Tensor]], act: str, radius: float,
              theta: torch.Tensor) -> list[torch.Tensor]:
    """d/dtheta of [x, h^1, ..., h^L] (forward mode: dh^{l+1} = W^{l+1} (phi'(h^l) * dh^l))."""
    pts = _forward(net, act, radius, theta)
    ds, dc = -torch.sin(theta)[:, None] * radius, torch.cos(theta)[:, None] * radius
    dx = torch.zeros_like(pts[0])
    dx[:, :1], dx[:, 1:2] = ds, dc
    w1 = net[0][0]
    out = [dx, ds * w1[:, 0] + dc * w1[:, 1]]
    for (w, _), h in zip(net[1:], pts[1:]):
        if act == "tanh":
            slope = 1 - torch.tanh(h) ** 2
        elif act == "relu":
            slope = (h > 0).to(h.dtype)
        else:
            slope = (h.abs() < 1).to(h.dtype)
        out.append((slope * out[-1]) @ w.T)
    return out


def _floor(p: torch.Tensor) -> torch.Tensor:
    """Chords shorter than this are rounding, not motion: where a layer saturates (every hard-tanh at +-1,
    every ReLU off) its points are one point, computed to within a few ulps that depend on how the matmul
    blocks its rows (AVX-512 and AVX2 differ). Real chords here are longer than 1e-9."""
    return 1e-12 * p.norm(dim=1).max().clamp_min(1.0)


def _totals(pts: list[torch.Tensor], tangents: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer (length, turning) of one arc's polyline; the turning includes the angles between the exact
    tangents at the arc's two ends and its end chords, so that arcs add up to the closed curve's total.
    Where the curve stands still (a saturated stretch) it has no direction: the turning is the angle
    between the chords before and after the stretch, so rounding-sized chords are left out."""
    lengths, turns = [], []
    for p, t in zip(pts, tangents):
        chords = torch.cat([t[:1], p[1:] - p[:-1], t[1:]])
        lengths.append(chords[1:-1].norm(dim=1).sum())
        turns.append(_angles(chords[chords.norm(dim=1) > _floor(p)]).sum())
    return torch.stack(lengths), torch.stack(turns)


def _pattern(act: str, pts: list[torch.Tensor]) -> torch.Tensor | None:
    """Linear piece of every neuron at every point (ReLU: h > 0; hard-tanh: -1, 0, 1); None for tanh."""
    if act == "relu":
        return torch.cat([(h > 0).to(torch.int8) for h in pts[1:]], dim=1)
    if act == "hardtanh":
        return torch.cat([(h > 1).to(torch.int8) - (h < -1).to(torch.int8) for h in pts[1:]], dim=1)
    return None


def _locate(net, act, radius, lo, hi, col, side, tiny):
    """Bisect [lo, hi] to width <= tiny around where pattern column `col` leaves its value `side` at lo."""
    while float((hi - lo).max()) > tiny:
        mid = (lo + hi) / 2
        same = _pattern(act, _forward(net, act, radius, mid)).gather(1, col[:, None])[:, 0] == side
        lo, hi = torch.where(same, mid, lo), torch.where(same, hi, mid)
    return lo, hi


def _refine_arc(net, act, radius, t0, t1, rtol, min_step, budget, n0=8):
    """Adaptive samples of one arc: (theta, per-layer points, end tangents, last round's |change|, ok).

    A smooth segment is bisected while its halves exceed its chord by more than rtol, or its midpoint
    turns by more than sqrt(8 rtol) (the turn of a circle arc with that excess), at some layer. For
    piecewise-linear activations a kink (a neuron changing its linear piece) is not smooth: segments
    with several kinks are bisected, and a segment with one kink gets two vertices 2^-20 of an initial
    segment apart around the kink (close enough, yet far apart enough for float64 chords to be exact) (found by bisection on the pattern), so that every kink is a vertex and its
    angle is counted whole; corner-cutting chords would undercount it (Fary-Milnor: an inscribed
    polygon has less total curvature than its curve).
    """
    theta = torch.linspace(t0, t1, n0 + 1, dtype=torch.float64)
    ends = _tangents(net, act, radius, torch.tensor([t0, t1], dtype=torch.float64))
    pts = _forward(net, act, radius, theta)
    pat = _pattern(act, pts)
    rough = torch.ones(n0 + 1, dtype=torch.bool)  # per point: does the segment that starts here need bisecting
    totals = _totals(pts, ends)
    change = (torch.zeros_like(totals[0]), torch.zeros_like(totals[1]))
    kink, tiny = math.sqrt(8 * rtol), (t1 - t0) / n0 * 2.0**-20
    while True:
        width = theta[1:] - theta[:-1]
        jumps = torch.zeros_like(width, dtype=torch.long) if pat is None else (pat[1:] - pat[:-1]).abs().sum(dim=1)
        bis = (rough[:-1] & (jumps == 0)) | (jumps > 1)
        loc = (jumps == 1) & (width > 2 * tiny)
        if not (bis.any() or loc.any()):
            return theta, pts, ends, change, True
        if theta.numel() > budget or (bis.any() and width[bis].min() < min_step):
            return theta, pts, ends, change, False
        idx = torch.nonzero(bis).squeeze(1)
        new_t = [(theta[idx] + theta[idx + 1]) / 2]
        mid = _forward(net, act, radius, new_t[0])
        flag = jumps[idx] > 1  # a segment with several kinks: its halves are examined later
        for p, m in zip(pts, mid):
            u, v = m - p[idx], p[idx + 1] - m
            halves = u.norm(dim=1) + v.norm(dim=1)
            moves = torch.minimum(u.norm(dim=1), v.norm(dim=1)) > _floor(p)  # not a saturated stretch's rounding
            flag |= moves & (halves - (u + v).norm(dim=1) > rtol * halves)
            flag |= moves & (_angles(torch.stack([u, v], dim=1).reshape(-1, u.shape[1]))[0::2] > kink)
        new_rough = [flag]
        rough[idx] = flag
        if loc.any():
            k = torch.nonzero(loc).squeeze(1)
            col = (pat[k + 1] != pat[k]).to(torch.int8).argmax(dim=1)
            lo, hi = _locate(net, act, radius, theta[k], theta[k + 1], col, pat[k].gather(1, col[:, None])[:, 0], tiny)
            rough[k] = True
            new_t += [lo, hi]
            new_rough += [torch.zeros_like(k, dtype=torch.bool), torch.ones_like(k, dtype=torch.bool)]
        added = torch.cat(new_t)
        keep = ~torch.isin(added, theta)  # a kink bracket may end on an existing sample
        added, added_rough = added[keep], torch.cat(new_rough)[keep]
        more = _forward(net, act, radius, added)
        order = torch.argsort(torch.cat([theta, added]))
        theta, rough = torch.cat([theta, added])[order], torch.cat([rough, added_rough])[order]
        pts = [torch.cat([p, m])[order] for p, m in zip(pts, more)]
        if pat is not None:
            pat = torch.cat([pat, _pattern(act, more)])[order]
        new = _totals(pts, ends)
        change, totals = ((new[0] - totals[0]).abs(), (new[1] - totals[1]).abs()), new


def trace_circle(act: str, width: int, depth: int, sigma_w: float, sigma_b: float, seed: int = 0, *,
                 radius: float | None = None, rtol: float = 1e-3, arcs: int = 32,
                 max_points: int = 400_000, projection_seed: int = 1) -> Trajectory:
    """Push the circle through a random `act` network and measure length and total curvature per layer."""
    if act not in _PHI:
        raise ValueError(f"unknown activation {act!r}; choose from {', '.join(sorted(_PHI))}")
    net = random_net(width, depth, sigma_w, sigma_b, seed)
    radius = default_radius(act, width, sigma_w, sigma_b) if radius is None else radius
    proj = torch.randn(width, 2, generator=torch.Generator().manual_seed(projection_seed), dtype=torch.float64)
    length = torch.zeros(depth + 1, dtype=torch.float64)
    turning, d_length, d_turning = torch.zeros_like(length), torch.zeros_like(length), torch.zeros_like(length)
    projections: list[list[torch.Tensor]] = [[] for _ in range(depth + 1)]
    total, converged = 0, True
    for k in range(arcs):
        theta, pts, tangents, change, ok = _refine_arc(net, act, radius, 2 * math.pi * k / arcs,
                                                       2 * math.pi * (k + 1) / arcs, rtol, 2 * math.pi * 2.0**-32,
                                                       max(64, max_points // arcs))
        converged &= ok
        total += len(theta) - 1
        arc_length, arc_turn = _totals(pts, tangents)
        length += arc_length
        turning += arc_turn
        d_length += change[0]
        d_turning += change[1]
        for l, p in enumerate(pts):  # the input circle in its own plane, the layers through a random 2-D map
            projections[l].append(p[:-1, :2] if l == 0 else p[:-1] @ proj / math.sqrt(width))
    return Trajectory(act, width, depth, sigma_w, sigma_b, seed, radius, length.tolist(), turning.tolist(), total,
                      float((d_length / length).max()), float((d_turning / turning).max()), converged,
                      [torch.cat(p) for p in projections])


def growth_rate(values: list[float], first: int = 1) -> float:
    """Per-layer factor exp(slope) of the least-squares line through log(values[first:]) vs layer."""
    ys = torch.tensor(values[first:], dtype=torch.float64).log()
    xs = torch.arange(len(ys), dtype=torch.float64)
    xc = xs - xs.mean()
    return math.exp(float((xc * (ys - ys.mean())).sum() / (xc * xc).sum()))


def theory(traj: Trajectory) -> dict[str, object]:
    """Mean-field predictions anchored at the measured layer 1: length L_1 chi_1^{(l-1)/2}, and (smooth phi)
    total curvature kappa_l L_l with kappa_l from the curvature recursion, kappa_1 = K_1 / L_1."""
    chi_1, chi_2 = meanfield.chi(traj.activation, traj.sigma_w, traj.sigma_b)
    rate = math.sqrt(chi_1)
    lengths = [traj.length[1] * rate ** (l - 1) for l in range(1, traj.depth + 1)]
    out: dict[str, object] = {"chi_1": chi_1, "chi_2": chi_2, "rate": rate, "length": [traj.length[0], *lengths],
                              "raghu_rate": meanfield.raghu_rate(traj.activation, traj.sigma_w, traj.sigma_b, traj.width)}
    if traj.activation == "tanh":
        kappa = meanfield.curvature_recursion(traj.curvature[1] / traj.length[1], chi_1, chi_2, traj.width, traj.depth)
        out["curvature"] = [traj.curvature[0], *(k * L for k, L in zip(kappa, lengths))]
    return out
