"""Metrics, registered by name in `gankit.registry.METRICS`."""
from gankit.metrics import modes  # noqa: F401  (registration)
