"""Losses, registered by name in `gankit.registry.LOSSES`."""
from gankit.losses import adversarial, penalties  # noqa: F401  (registration)
from gankit.losses.adversarial import AdversarialLoss

__all__ = ["AdversarialLoss"]
