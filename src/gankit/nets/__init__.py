"""Networks, registered by architecture name in `gankit.registry.NETS`."""
from gankit.nets import dcgan, mlp  # noqa: F401  (registration)
from gankit.nets.base import NetSpec

__all__ = ["NetSpec"]
