"""Pictures: image grids, 2-D scatter plots over D's surface, curves and GIFs.

Names are re-exported lazily so that `import gankit.viz` (or only needing
`make_grid`) does not pay for importing matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "make_grid": "grids",
    "upscale": "grids",
    "save_png": "grids",
    "plot_points": "plots",
    "plot_curves": "plots",
    "figure_to_array": "plots",
    "save_gif": "animate",
    "gif_from_pngs": "animate",
    "evenly_spaced": "animate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gankit.viz.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'gankit.viz' has no attribute {name!r}")
