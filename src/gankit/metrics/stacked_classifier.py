"""The domain classifier of stacked Fashion-MNIST, composed of the Fashion-MNIST one applied per channel.

A stack's label is its mode, 100 c_0 + 10 c_1 + c_2, one of 1000. Training a 1000-way CNN on 60,000 stacks
would cost minutes and judge garments worse than the shipped Fashion-MNIST classifier does; since the three
garments are drawn independently, that classifier read per channel is the natural judge of a stack:

    features(x) = [f(x_0), f(x_1), f(x_2)]                           (3 x 128 = 384-d)
    logits(x)[100 a + 10 b + c] = log p(a | x_0) + log p(b | x_1) + log p(c | x_2)

so argmax of the logits is the triple of per-channel argmaxes (the stacked_modes protocol), and
softmax(logits) is the product of the per-channel probabilities. FID, KID, PRDC, class coverage and ALI's
class agreement on stacked runs all use it.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.stacked import CHANNELS, NAME
from gankit.data.transforms import resize_batch
from gankit.files import sha256_tensors
from gankit.metrics.features import FeatureNet, domain_classifier
from gankit.registry import CLASSIFIERS


def _channels(x: Tensor, side: int) -> list[Tensor]:
    """Each channel of (N, 3, H, W) as a gray (N, 1, side, side) image."""
    out = []
    for k in range(CHANNELS):
        gray = x[:, k : k + 1]
        out.append(resize_batch(gray, side) if gray.shape[-1] != side else gray)
    return out


@CLASSIFIERS.register(NAME)
def stacked_classifier(data_cfg: DataConfig) -> FeatureNet:
    garment = domain_classifier(DataConfig(name="fashion-mnist", path=data_cfg.path))
    side = garment.input_shape[-1] if garment.input_shape else 28
    assert garment.classify is not None  # the Fashion-MNIST domain classifier always has logits

    def embed(x: Tensor) -> Tensor:
        return torch.cat([garment.embed(c) for c in _channels(x, side)], dim=1)

    def classify(x: Tensor) -> Tensor:
        lp = [F.log_softmax(garment.classify(c), dim=1) for c in _channels(x, side)]
        joint = lp[0][:, :, None, None] + lp[1][:, None, :, None] + lp[2][:, None, None, :]
        return joint.flatten(1)  # index 100 a + 10 b + c, as data.stacked.mode_ids

    resolution = data_cfg.resolution or 28
    info = {**garment.info, "composed": f"{garment.name} on each of the {CHANNELS} channels (features concatenated, "
                                         "log-probabilities summed)", "num_classes": 10**CHANNELS,
            "test_accuracy_per_garment": garment.info.get("test_accuracy")}
    info.pop("test_accuracy", None)  # per garment, not per stack: named so above
    return replace(garment, name=f"gankit-domain-classifier/{NAME} (per channel)", embed=embed, classify=classify,
                   sha256=sha256_tensors([], salt=f"{NAME}|{garment.sha256}"),
                   input_shape=(CHANNELS, resolution, resolution), info=info)
