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
from importlib import import_module
from typing import Any

_WHERE = {"one_layer": "constructions", "sawtooth": "constructions", "serra": "constructions",
          "serra_bound": "constructions", "dragon": "folding", "chi": "meanfield", "critical_sigma_w": "meanfield",
          "q_star": "meanfield", "layers_from_torch": "networks", "random_layers": "networks",
          "count_grid_line": "regions", "count_grid_plane": "regions", "count_line": "regions",
          "count_plane": "regions", "theory": "trajectory", "trace_circle": "trajectory"}


def __getattr__(name: str) -> Any:  # PEP 562: `gankit expressivity --help` loads no numerics
    if name in _WHERE:
        return getattr(import_module(f"gankit.expressivity.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gankit.expressivity' has no attribute {name!r}")


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
