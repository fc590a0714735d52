"""Datasets, registered by name in `gankit.registry.DATASETS`; all live in memory as tensors."""
from gankit.data import characters, cifar, folder, images, shapes, toy  # noqa: F401  (registration)
from gankit.data import paired, translation_fashion, translation_shapes  # noqa: F401  (registration)
from gankit.data import stacked  # noqa: F401  (registration)
from gankit.data.base import BatchSampler, Mixture, TensorData

__all__ = ["BatchSampler", "Mixture", "TensorData"]
