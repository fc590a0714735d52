"""Components registered by name with a decorator.

    @GAMES.register("gan")
    class GanGame: ...

    GAMES.get("gan")  # -> GanGame; an unknown name raises UserError listing the known ones

Adding a game, loss, net, dataset or metric is one small file with one decorator:
nothing else (no if/elif chain on strings) needs to change. The component packages are imported on
the first lookup (`get`, `names`, `in`), not when gankit is imported: `gankit --help` needs no torch.
"""
from __future__ import annotations

from importlib import import_module
from typing import Callable, Generic, Iterator, TypeVar

from gankit.errors import UserError

T = TypeVar("T")
COMPONENT_PACKAGES = ("gankit.data", "gankit.nets", "gankit.losses", "gankit.games", "gankit.metrics")
_loaded = False


def load_components() -> None:
    """Import every package that registers components (once; re-entrant while they import)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for package in COMPONENT_PACKAGES:
            import_module(package)


class Registry(Generic[T]):
    """A name -> component table of one kind ("game", "loss", ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        load_components()
        try:
            return self._items[name]
        except KeyError:
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
            raise UserError(f"unknown {self.kind} {shown}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        load_components()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        load_components()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


DATASETS: Registry = Registry("dataset")
NETS: Registry = Registry("net")
LOSSES: Registry = Registry("loss")
GAMES: Registry = Registry("game")
METRICS: Registry = Registry("metric")
PENALTIES: Registry = Registry("penalty")
CONDITIONS: Registry = Registry("condition kind")
PROMPT_SETS: Registry = Registry("prompt sets")  # dataset name -> test split -> list[data.base.PromptSet]
CLASSIFIERS: Registry = Registry("domain classifier")  # dataset name -> (DataConfig -> FeatureNet), made of other nets
