"""Mode count on stacked Fashion-MNIST (data/stacked.py): the stacked-MNIST protocol of PacGAN.

What PacGAN's code does (github.com/fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment/
model.py and unrolled_GAN_experiment/D=0.25G/model.py, ``log_metrics``; VEEGAN Table 2, PacGAN
Tables 2-3), with the Fashion-MNIST domain classifier in place of their Keras MNIST CNN:

1. draw ``num_test_sample = 26000`` samples from G (a fixed z);
2. classify each of the three channels as a gray image on its own (argmax of the classifier);
   the triple (c_0, c_1, c_2) is the sample's mode, here numbered 100 c_0 + 10 c_1 + c_2;
3. ``mode coverage`` = number of distinct triples: ONE sample classified into a mode covers it
   (no minimum count, no confidence threshold);
4. ``KL`` = ``JSD().KLD(p, q)``: p = the normalised histogram of the 1000 modes, q = uniform:

       KL(p || u) = sum_{k: p_k > 0} p_k log(p_k / (1/1000)) = sum_{k: p_k > 0} p_k log(1000 p_k)

   Empty modes add 0 (KLD skips p == 0), no smoothing: 0 for a perfectly balanced histogram,
   log(1000) = 6.908 when every sample is in one mode. (`modes.reverse_kl_uniform`, shared with
   the 2D mixtures, is this formula.)

Even the real data does not score (1000, 0): at N = 26,000 a uniform multinomial leaves a KL of
about (1000 - 1) / (2 N) = 0.019 from sampling alone, and the classifier's confusions (shirt vs
T-shirt) skew the per-channel histograms; evaluate reports the reference split's own value beside.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.images import FASHION_CLASSES
from gankit.data.stacked import CHANNELS, N_MODES, NAME, mode_ids
from gankit.data.transforms import resize_batch
from gankit.errors import UserError
from gankit.metrics.base import EvalContext, Score, register_metric
from gankit.metrics.features import FeatureNet, domain_classifier
from gankit.metrics.modes import reverse_kl_uniform

N_CLASSES = len(FASHION_CLASSES)  # per channel
N_SAMPLES = 26_000  # PacGAN's num_test_sample
NEED = f"dataset:{NAME}"  # only samples of stacked-fashion have one garment per channel
PROTOCOL = (
    "PacGAN stacked MNIST: each channel classified on its own by the Fashion-MNIST domain classifier "
    "(argmax); mode = (c0, c1, c2), 1000 modes; a mode is covered by >= 1 sample; kl = KL(p || uniform) "
    "of the mode histogram, empty modes add 0, no smoothing; PacGAN scores 26,000 samples "
    "(github.com/fjxmlzn/PacGAN stacked_MNIST_experiments/VEEGAN_experiment/model.py log_metrics)"
)


def stacked_modes(channels: Tensor) -> dict[str, Any]:
    """Modes covered out of 1000 and KL(mode histogram || uniform) of N stacked samples.

    channels: (N, 3) int per-channel classes 0..9, or (N, 3, 10) per-channel logits (argmax taken).
    Returns {"modes": int, "n_modes": 1000, "kl": float (NaN when N = 0), "n_samples": N}.
    """
    if channels.ndim == 3:
        channels = channels.argmax(-1)
    if channels.ndim != 2 or channels.shape[1] != CHANNELS or channels.is_floating_point():
        raise ValueError(f"expected (N, {CHANNELS}) classes or (N, {CHANNELS}, K) logits, got "
                         f"{channels.dtype} {tuple(channels.shape)}")
    channels = channels.cpu()
    if len(channels) and (int(channels.min()) < 0 or int(channels.max()) >= N_CLASSES):
        raise ValueError(f"per-channel classes must be in 0..{N_CLASSES - 1}, got "
                         f"{int(channels.min())}..{int(channels.max())}")
    counts = torch.bincount(mode_ids(channels), minlength=N_MODES)
    return {"modes": int((counts > 0).sum()), "n_modes": N_MODES, "kl": reverse_kl_uniform(counts),
            "n_samples": int(len(channels))}


def channel_classes(images: Tensor, classifier: FeatureNet) -> Tensor:
    """(N, 3) int64: the classifier's class of each channel of images (N, 3, H, W) in [-1, 1].

    Each channel is a gray garment, so it goes in as a (N, 1, H, W) image, resized to the
    classifier's side when the data was trained at another data.resolution (e.g. 32)."""
    if images.ndim != 4 or images.shape[1] != CHANNELS:
        raise UserError(f"stacked mode counting needs {CHANNELS}-channel images (N, 3, H, W), got "
                        f"{tuple(images.shape)}")
    side = classifier.input_shape[-1] if classifier.input_shape else images.shape[-1]
    out = []
    for k in range(CHANNELS):  # one channel at a time: a third of the memory of a (3N, 1, H, W) copy
        gray = images[:, k : k + 1].float()
        if gray.shape[-2:] != (side, side):
            gray = resize_batch(gray, side)
        out.append(classifier.logits(gray).argmax(1))
    return torch.stack(out, 1)


def fashion_classifier(path: str = "") -> FeatureNet:
    """The Fashion-MNIST domain classifier (shipped with gankit; IDX files in `path`, "" = default)."""
    return domain_classifier(DataConfig(name="fashion-mnist", path=path))


@register_metric("stacked_modes", kind="images", formula=stacked_modes, needs=("reference", NEED),
                 n_samples=N_SAMPLES)
def evaluate_stacked_modes(ctx: EvalContext) -> list[Score]:
    """Stacked Fashion-MNIST modes covered (of 1000) and KL(mode histogram || uniform), PacGAN's protocol."""
    net = fashion_classifier(ctx.data_cfg.path if ctx.data_cfg is not None else "")  # the stack's source files
    fake = stacked_modes(channel_classes(ctx.fake, net))
    real = stacked_modes(channel_classes(ctx.real, net))
    extra: dict[str, Any] = {"n_modes": N_MODES, "protocol": PROTOCOL, "protocol_n": N_SAMPLES,
                             "real_data_modes": real["modes"], "real_data_kl": real["kl"],
                             "real_data_n": real["n_samples"],
                             "classifier_test_accuracy": net.info.get("test_accuracy")}
    if fake["n_samples"] != N_SAMPLES:  # the mode count grows with N: say when it is not PacGAN's
        extra["note"] = f"scored on {fake['n_samples']} samples; PacGAN's protocol uses {N_SAMPLES}"
    return [Score("stacked_modes", fake["modes"], net, extra), Score("stacked_kl", fake["kl"], net, extra)]
