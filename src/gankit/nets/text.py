"""The `learned` sentence encoder: word ids -> a fixed-size vector, trained with the GAN.

    tokens (N, L) int64, 0 = padding, 1 = unknown word
    -> word embeddings (N, L, E)                      one vector per vocabulary word
    -> Conv1d over 3-word windows, ReLU (N, L, H)     local order: "top left", "rond rouge", "red circle"
    -> mean and max over the real words (N, 2H)       any length, any word order between phrases
    -> LayerNorm (no scale) -> TableSpeedLinear -> (N, dim)

Why the last two: a projection discriminator multiplies the encoding with D's features, so its
scale is D's confidence. The LayerNorm gives the last layer unit-scale inputs whatever the words'
layers do; `TableSpeedLinear` then learns at the pace of a class-embedding table. Without them
D's logits reached +-40 within 100 steps on `shapes` and G's loss stalled at 30 (a plain Linear
under Adam moves each output by up to fan_in * lr per step, a table row by lr).

Why this shape: it needs no package and no pre-training, so it works for any language the
captions are in (English and French here), costs little next to the image nets, and composes: a
new combination of known words maps near the sum of its parts (the compositional test of
`shapes`), and a new frame around known words changes only a few windows (the paraphrase test).
It is the encoder of the `tokens` condition kind: G and D each hold one (conditioning.py), so
D's learns to check text against images and G's to follow it.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.nets.base import ConditionSpec
from gankit.registry import CONDITIONS

EMBED = 64
HIDDEN = 128
BOTTLENECK = 128


class TableSpeedLinear(nn.Module):
    """y = x W^T / fan_in + b, W stored fan_in times larger: Adam moves each stored weight by about lr,
    so each output moves by about lr per step, as a row of nn.Embedding does (the equalized learning
    rate of Karras et al. 2018, scaled for an embedding's pace rather than He's)."""

    def __init__(self, fan_in: int, dim: int) -> None:
        super().__init__()
        self.fan_in = fan_in
        self.weight = nn.Parameter(torch.randn(dim, fan_in) * fan_in ** 0.5)  # W ~ N(0, 1 / fan_in)
        self.bias = nn.Parameter(torch.zeros(dim))

    def small_init(self, std: float) -> None:
        """Outputs of about `std` per feature for unit-scale inputs."""
        with torch.no_grad():
            self.weight.normal_(0.0, std * self.fan_in ** 0.5)
            self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return torch.nn.functional.linear(x, self.weight / self.fan_in, self.bias)


class LearnedTextEncoder(nn.Module):
    def __init__(self, vocab_size: int, dim: int, embed: int = EMBED, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.window = nn.Conv1d(embed, hidden, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(2 * hidden, elementwise_affine=False)
        self.out = TableSpeedLinear(2 * hidden, dim)

    def small_init(self, std: float) -> None:
        """Outputs of about `std` per feature at the start, like an embedding table initialised with
        N(0, std^2): a projection discriminator then starts near psi(h) alone instead of saturating."""
        self.out.small_init(std)

    def forward(self, tokens: Tensor) -> Tensor:
        real = (tokens > 0).unsqueeze(1)  # (N, 1, L)
        h = torch.relu(self.window(self.words(tokens).transpose(1, 2)))  # (N, H, L)
        count = real.sum(2).clamp_min(1)
        mean = (h * real).sum(2) / count
        peak = h.masked_fill(~real, 0.0).amax(2)  # ReLU outputs are >= 0, so 0 is a neutral fill
        return self.out(self.norm(torch.cat([mean, peak], dim=1)))


class SentenceVectorEncoder(nn.Module):
    """A frozen encoder's sentence vector (minilm: unit norm, so ~0.05 per feature) -> dim features:
    LayerNorm to unit scale, a bottleneck of BOTTLENECK features, then a TableSpeedLinear (for the
    reasons given above). The bottleneck keeps a text step near a class step's cost: in a projection D
    `dim` is D's whole feature map (2,048 at 32 px), and 384 x 2,048 per call cost 20% of a step."""

    def __init__(self, d: int, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d, elementwise_affine=False)
        self.squeeze = nn.Linear(d, BOTTLENECK)
        self.squeeze_norm = nn.LayerNorm(BOTTLENECK, elementwise_affine=False)
        self.out = TableSpeedLinear(BOTTLENECK, dim)

    def small_init(self, std: float) -> None:
        self.out.small_init(std)

    def forward(self, v: Tensor) -> Tensor:
        return self.out(self.squeeze_norm(self.squeeze(self.norm(v))))


@CONDITIONS.register("tokens")
def _learned_text(spec: ConditionSpec, dim: int) -> nn.Module:
    return LearnedTextEncoder(spec.dim, dim)
