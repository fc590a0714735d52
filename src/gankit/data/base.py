"""What every dataset gives the loop: named fields in memory and a seeded batch sampler.

A dataset is a function registered in `gankit.registry.DATASETS` that takes a `DataConfig` and
returns a `TensorData`: a dict of tensors that share one index (example i of every field belongs
together) with a declared kind per field, e.g.

    fields  x (N, C, H, W) uint8 "image"   y (N,) int64 "label"   tags (N, T) uint8 "multi_hot"
            text (N, d) float32 "embedding"   x_b (N, C, H, W) uint8 "paired_image"
            caption (N, K, L) int64 "tokens" (K captions of L word ids; names = the vocabulary)
            label_map (N, H, W) uint8 "label_map" (a class per pixel; names = the classes)

Images are stored as uint8 (a quarter of float32's memory) and decoded per batch, on the device,
as x / 127.5 - 1 in [-1, 1]; 2D points are (N, 2) float32. Unpaired data (CycleGAN) puts its
second collection in `domains`: another TensorData with its own length, sampled with its own
independent index. Nothing is decoded in the hot loop beyond the batch: a batch is `field[idx]`.

A field named in `mapped` is backed by a memory-mapped file (a folder's cache, data/memmap_cache.py):
still a Tensor, but a batch reads only its rows (with the function `mapped` gives for the field),
and `map_fields` (the move to the training device) is applied to each gathered batch instead of to
the whole field, which would read it all into memory. Batches are the same either way, bit for bit
and in memory format.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor

from gankit.errors import UserError

FieldKind = Literal["image", "paired_image", "points", "label", "multi_hot", "embedding", "tokens", "label_map"]
IMAGE_KINDS = ("image", "paired_image")
KINDS: tuple[str, ...] = ("image", "paired_image", "points", "label", "multi_hot", "embedding", "tokens", "label_map")


@dataclass(frozen=True)
class Mixture:
    """Geometry of a Gaussian mixture, for mode scoring (VEEGAN/PacGAN protocol)."""

    means: Tensor  # (K, 2)
    sigma: float


@dataclass(frozen=True)
class FieldSpec:
    """What one field holds, per example: its kind, shape and (labels, tags) the names of its values."""

    kind: FieldKind
    shape: tuple[int, ...]  # one example: (C, H, W), (2,), () for a label, (T,) for tags, (d,) ...
    classes: int = 0  # label: number of classes; multi_hot: number of tags
    names: tuple[str, ...] = ()  # class or tag names

    def to_dict(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape), "classes": self.classes, "names": list(self.names)}

    @staticmethod
    def from_dict(d: dict) -> FieldSpec:
        return FieldSpec(d["kind"], tuple(d["shape"]), int(d["classes"]), tuple(d["names"]))


@dataclass(frozen=True)
class PromptSet:
    """Prompts with known answers, for "did it draw what was asked?" (evaluate/asked.py): the test rows
    `rows` asked for through field `field` (tokens, tags or labels), and the attribute fields whose
    values those prompts state (the rest, e.g. a background no caption names, is left free)."""

    name: str
    field: str
    rows: Tensor
    asked: tuple[str, ...]


DataSpec = dict[str, FieldSpec]  # field name -> spec, over the main data and every domain


def decode(kind: str, stored: Tensor) -> Tensor:
    """A stored field (or a batch of it) as the nets see it: uint8 images -> float32 in [-1, 1]
    (x / 127.5 - 1, the same operations as `transforms.to_tensor`, so values are bit-identical),
    uint8 tags -> float32 0/1, uint8 label maps -> int64 class ids; anything else unchanged.
    Memory format (channels_last) is kept."""
    if stored.dtype == torch.uint8 and kind == "label_map":
        return stored.long()
    if stored.dtype == torch.uint8:
        out = stored.float()
        return out.div_(127.5).sub_(1.0) if kind in IMAGE_KINDS else out
    return stored


class TensorData:
    """A whole dataset in memory: named fields sharing one index, plus independent domains."""

    def __init__(self, fields: dict[str, Tensor], specs: dict[str, FieldSpec], *, mixture: Mixture | None = None,
                 source: str = "", domains: dict[str, TensorData] | None = None,
                 texts: dict[str, Any] | None = None,
                 mapped: dict[str, Callable[[Tensor], Tensor]] | None = None) -> None:
        self.fields, self.specs = dict(fields), dict(specs)
        # fields backed by a memory-mapped file, with the function that reads rows idx (CPU) of it
        self.mapped = dict(mapped or {})
        self._per_batch: dict[str, list[Callable[[str, Tensor], Tensor]]] = {}  # map_fields' fns, for mapped fields
        # The words behind token fields (arrays of str, rows like the field's): for showing prompts
        # as written and for encoders that read text rather than word ids. Never used in the hot loop.
        self.texts = dict(texts or {})
        self.mixture, self.source = mixture, source
        self.domains = dict(domains or {})
        where = source or "?"
        first = self.fields.get("x", next(iter(self.fields.values()), None))
        if first is None or first.ndim < 1 or len(first) == 0 or ("x" in self.fields and first.ndim < 2):
            raise UserError(f"dataset from {where} is empty or has no features")
        n = len(first)
        for name, t in self.fields.items():
            if name not in self.specs:
                raise ValueError(f"field {name!r} of {where} has no spec")
            if len(t) != n:
                raise UserError(f"dataset from {where}: field {name!r} has {len(t)} rows for {n} examples")
        names = [k for d in self.domains.values() for k in d.fields]
        if len(set(names) | set(self.fields)) != len(names) + len(self.fields):
            raise ValueError(f"dataset from {where}: field names repeat across domains")

    # ---- constructors for the common cases ----------------------------------------------
    @classmethod
    def labelled(cls, x: Tensor, y: Tensor | None = None, class_names: list[str] | tuple[str, ...] = (),
                 kind: FieldKind = "image", mixture: Mixture | None = None, source: str = "") -> TensorData:
        """x (N, ...) as `kind` and optional class labels y (N,) int64 with their names."""
        fields, specs = {"x": x}, {"x": FieldSpec(kind, tuple(x.shape[1:]))}
        if y is not None:
            fields["y"] = y
            specs["y"] = FieldSpec("label", (), len(class_names), tuple(class_names))
        return cls(fields, specs, mixture=mixture, source=source)

    # ---- what is in it -------------------------------------------------------------------
    @property
    def spec(self) -> DataSpec:
        """Every field's spec, over the main data and its domains (what games build their nets from)."""
        out = dict(self.specs)
        for d in self.domains.values():
            out.update(d.spec)
        return out

    @property
    def kind(self) -> Literal["points", "images"]:
        """'points' for 2D/flat data, 'images' otherwise (what pictures and metrics branch on)."""
        return "points" if self.specs["x"].kind == "points" else "images"

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example of x, e.g. (2,) or (1, 28, 28)."""
        return tuple(self.fields["x"].shape[1:])

    @property
    def x(self) -> Tensor:
        """All of x, decoded (float32; images in [-1, 1]). A copy for uint8 images (and for a mapped
        field, a read of the whole file): index first (`take`) when only some rows are needed."""
        return self.column("x")

    @property
    def y(self) -> Tensor | None:
        return self.fields.get("y")

    @property
    def num_classes(self) -> int:
        return self.specs["y"].classes if "y" in self.specs else 0

    @property
    def class_names(self) -> list[str]:
        return list(self.specs["y"].names) if "y" in self.specs else []

    def take(self, idx: Tensor, names: tuple[str, ...] | None = None) -> dict[str, Tensor]:
        """Rows `idx` of the named fields (all main fields by default), decoded. A field of a domain is
        indexed modulo that domain's own length (its rows do not pair with the main index anyway)."""
        out = {}
        for name in names or tuple(self.fields):
            owner = self._owner(name)
            rows = idx if owner is self else idx % len(owner)
            out[name] = decode(owner.specs[name].kind, owner._gather(name, rows))
        return out

    def column(self, name: str) -> Tensor:
        """All of field `name`, decoded, from the main data or the domain that holds it."""
        owner = self._owner(name)
        return decode(owner.specs[name].kind, owner._gather(name, None))

    def _gather(self, name: str, idx: Tensor | None) -> Tensor:
        """Rows `idx` (None: all) of field `name` as stored, after map_fields; a mapped field reads
        only those rows from its file, on the CPU, then gets map_fields' functions."""
        t = self.fields[name]
        if name not in self.mapped:
            return t if idx is None else t[idx]
        rows = self.mapped[name](torch.arange(len(t)) if idx is None else idx.cpu())  # a copy in memory
        for fn in self._per_batch.get(name, ()):
            rows = fn(self.specs[name].kind, rows)
        return rows

    def _owner(self, name: str) -> TensorData:
        for d in (self, *self.domains.values()):
            if name in d.fields:
                return d
        raise UserError(f"dataset from {self.source or '?'} has no field {name!r}; it has {', '.join(self.spec)}")

    def rows(self, idx: Tensor) -> TensorData:
        """A TensorData of rows `idx` of every field (stored as they are, mapped ones read into memory;
        domains kept whole)."""
        return TensorData({k: self._gather(k, idx) for k in self.fields}, self.specs, mixture=self.mixture,
                          source=self.source, domains=self.domains,
                          texts={k: v[idx.cpu().numpy()] for k, v in self.texts.items()})

    def map_fields(self, fn: Callable[[str, Tensor], Tensor]) -> None:
        """Replace every stored field (and every domain's) by fn(kind, tensor), e.g. a move to a device.
        A mapped field keeps its file; fn is applied to each batch gathered from it, so fn must work
        row by row (fn(t)[idx] == fn(t[idx]), as a move or a memory-format change does)."""
        for k in self.mapped:
            self._per_batch.setdefault(k, []).append(fn)
        self.fields = {k: t if k in self.mapped else fn(self.specs[k].kind, t) for k, t in self.fields.items()}
        for d in self.domains.values():
            d.map_fields(fn)

    def __len__(self) -> int:
        return len(next(iter(self.fields.values())))


class BatchSampler:
    """Seeded uniform sampling with replacement: one index for the main fields, an independent one
    per domain; the generators' states are part of a checkpoint."""

    def __init__(self, data: TensorData, batch_size: int, seed: int) -> None:
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        # Unpaired domains get their own streams, so adding a domain never changes the main one.
        self.domain_generators = {name: torch.Generator().manual_seed(seed + 7919 * (i + 1))
                                  for i, name in enumerate(data.domains)}
        # This process's rows of every batch: all of them, or under DDP (train/distributed.py) its contiguous
        # slice of the global index that every process draws alike (no duplicates, no gaps)
        self.part = slice(None)

    def sample(self) -> dict[str, Tensor]:
        idx = torch.randint(len(self.data), (self.batch_size,), generator=self.generator)[self.part]
        batch = self.data.take(idx)
        for name, dom in self.data.domains.items():
            d_idx = torch.randint(len(dom), (self.batch_size,), generator=self.domain_generators[name])[self.part]
            batch.update(dom.take(d_idx))
        return batch

    def state_dict(self) -> dict[str, Tensor]:
        state = {"generator": self.generator.get_state()}
        state.update({f"domain:{n}": g.get_state() for n, g in self.domain_generators.items()})
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.generator.set_state(state["generator"])
        for n, g in self.domain_generators.items():
            g.set_state(state[f"domain:{n}"])


def spec_to_dict(spec: DataSpec) -> dict[str, dict]:
    return {k: v.to_dict() for k, v in spec.items()}


def spec_from_dict(d: dict[str, dict]) -> DataSpec:
    return {k: FieldSpec.from_dict(v) for k, v in d.items()}


__all__ = ["BatchSampler", "DataSpec", "FieldSpec", "Mixture", "PromptSet", "TensorData", "decode", "spec_from_dict", "spec_to_dict"]
