"""Networks, registered by architecture name in `gankit.registry.NETS`."""
from gankit.nets import conditioning, dcgan, encoder, mlp, patchgan, refiner, resnet, text, unet  # noqa: F401  (registration)
from gankit.nets.base import ConditionSpec, NetSpec, build_net, register_net

__all__ = ["ConditionSpec", "NetSpec", "build_net", "register_net"]
