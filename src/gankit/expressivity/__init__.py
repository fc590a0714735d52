"""gankit.expressivity: why deep rather than wide, measured.

Public API:
    count_line, count_plane          exact activation regions on a segment / a 2-D rectangle
    count_grid_line, count_grid_plane  the dense-sampling cross-check
    random_layers, layers_from_torch   ReLU networks as float64 arrays
    sawtooth, serra, one_layer, serra_bound   constructions with known counts; the maximum count
    trace_circle, theory             length and curvature of a circle through a random network
    q_star, chi, critical_sigma_w    mean-field order/chaos theory (Poole et al. 2016)
    dragon                           the paper-folding (dragon) curve
The command line is `gankit expressivity regions|trajectory|phase|fold`; see docs/EXPRESSIVITY.md.
"""
from gankit.expressivity.constructions import one_layer, sawtooth, serra, serra_bound
from gankit.expressivity.folding import dragon
from gankit.expressivity.meanfield import chi, critical_sigma_w, q_star
from gankit.expressivity.networks import layers_from_torch, random_layers
from gankit.expressivity.regions import (
           count_grid_line,
           count_grid_plane,
           count_line,
           count_plane,
)
from gankit.expressivity.trajectory import theory, trace_circle

__all__ = [
           "chi",
           "count_grid_line",
           "count_grid_plane",
           "count_line",
           "count_plane",
           "critical_sigma_w",
           "dragon",
           "layers_from_torch",
           "one_layer",
           "q_star",
           "random_layers",
           "sawtooth",
           "serra",
           "serra_bound",
           "theory",
           "trace_circle",
]
