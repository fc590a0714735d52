"""Encoders of the desired output: one per condition kind, shared by every net.

    label      (N,) int64 class ids      -> nn.Embedding(classes, dim)   (cGAN, Mirza & Osindero 2014)
    multi_hot  (N, T) float 0/1 tags     -> nn.Linear(T, dim, no bias)   (tags, Jin et al. 2017)
    embedding  (N, d) float sentence     -> LayerNorm, Linear(d, dim)    (text, Reed et al. 2016)
    tokens     (N, L) int64 word ids     -> the learned text encoder     (nets/text.py)

A generator concatenates the encoded condition to z (`generator_condition`, optionally through
conditioning augmentation); a discriminator projects it onto its features (`Projection`).
Adding a kind is one decorated function here or in its own module.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gankit import batch_part
from gankit.errors import UserError

from gankit.nets.base import ConditionSpec
from gankit.registry import CONDITIONS


@CONDITIONS.register("label")
def _label(spec: ConditionSpec, dim: int) -> nn.Module:
    return nn.Embedding(spec.dim, dim)


@CONDITIONS.register("multi_hot")
def _tags(spec: ConditionSpec, dim: int) -> nn.Module:
    return nn.Linear(spec.dim, dim, bias=False)  # the sum of the present tags' vectors


@CONDITIONS.register("embedding")
def _sentence(spec: ConditionSpec, dim: int) -> nn.Module:
    from gankit.nets.text import SentenceVectorEncoder

    return SentenceVectorEncoder(spec.dim, dim)


def condition_encoder(spec: ConditionSpec, dim: int) -> nn.Module:
    """The encoder of a `spec.kind` condition into `dim` features (weights in `.weight`)."""
    make: Callable[[ConditionSpec, int], nn.Module] = CONDITIONS.get(spec.kind)
    return make(spec, dim)


class Augmented(nn.Module):
    """Conditioning augmentation (StackGAN, Zhang et al. 2017, 3.1): the encoded condition e gives
    mu(e) and log sigma^2(e); G sees c_hat = mu + sigma * eps, eps ~ N(0, I), so nearby texts share
    samples and the few conditions of a dataset become a smooth manifold. The game adds
        KL( N(mu, sigma^2) || N(0, I) ) = 1/2 sum( mu^2 + sigma^2 - log sigma^2 - 1 )   (mean over N)
    to G's loss. In eval mode c_hat = mu, so fixed inputs give the same picture every time."""

    def __init__(self, encoder: nn.Module, dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.stats = nn.Linear(dim, 2 * dim)

    def _moments(self, c: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.stats(torch.relu(self.encoder(c))).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)

    def forward(self, c: Tensor) -> Tensor:
        mu, logvar = self._moments(c)
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * batch_part.randn_like(mu)

    def kl(self, c: Tensor) -> Tensor:
        mu, logvar = self._moments(c)
        return 0.5 * (mu.square() + logvar.exp() - logvar - 1.0).sum(1).mean()


def generator_condition(spec: ConditionSpec | None, dim: int) -> nn.Module | None:
    """What a generator concatenates to z: its condition's encoder, augmented when spec.augment."""
    if spec is None:
        return None
    encoder = condition_encoder(spec, dim)
    return Augmented(encoder, dim) if spec.augment else encoder


def condition_kl(generator: nn.Module, c: Tensor) -> Tensor:
    """The conditioning-augmentation KL of `generator` for conditions c (0 without augmentation)."""
    embed = getattr(generator, "embed", None)
    if isinstance(embed, Augmented):
        return embed.kl(c)
    return c.new_zeros((), dtype=torch.float32)


def one_caption(c: Tensor) -> Tensor:
    """Tokens (N, K, L), K captions per example -> (N, L), one drawn at random per example (the
    global RNG, so a resumed run draws the same); (N, L) is returned as it is."""
    if c.ndim < 3:
        return c
    pick = batch_part.rows(c.shape[0], lambda m: torch.randint(c.shape[1], (m,), device=c.device))
    return c[torch.arange(c.shape[0], device=c.device), pick]


def auxiliary_head(features: int, spec: ConditionSpec | None) -> nn.Module | None:
    """D's auxiliary classifier (ACGAN, Odena et al. 2017; tags in Jin et al. 2017): features -> one
    logit per class (label: softmax) or per tag (multi_hot: a sigmoid each); None unless spec.aux."""
    if spec is None or not spec.aux:
        return None
    if spec.kind not in ("label", "multi_hot"):
        raise UserError(f"an auxiliary classifier predicts classes or tags, not a {spec.kind} condition")
    return nn.Linear(features, spec.dim)


def auxiliary_loss(logits: Tensor, c: Tensor) -> Tensor:
    """Cross-entropy of the auxiliary head against the condition: softmax CE for class ids,
    mean binary CE over tags for multi-hot vectors."""
    if c.dtype == torch.int64:
        return torch.nn.functional.cross_entropy(logits, c)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, c)


def condition_heads(D: nn.Module, h: Tensor, e: Tensor | None, heads: tuple[str, ...]) -> dict[str, Tensor]:
    """The extra outputs a discriminator gives from its features h (N, F) and its projection's
    encoding e (N, F) of the conditions:
    aux    its auxiliary classifier's logits (N, K)
    pairs  <embed(c_j), h_i> for every image i and condition j (N, N): the projection score of every
           pairing, whose diagonal holds the true pairs (the contrastive term of game.contrastive)"""
    out = {}
    for name in heads:
        if name == "aux":
            out[name] = D.aux(h)
        elif name == "pairs":
            out[name] = h @ e.t()
        else:
            raise ValueError(f"unknown discriminator head {name!r}")
    return out


class Projection(nn.Module):
    """Projection discriminator head (Miyato & Koyama 2018): logit = psi(h) + <embed(c), h>, with the
    condition embedded by its kind's encoder (a class table, a linear map of tags or of a sentence)."""

    def __init__(self, features: int, condition: ConditionSpec) -> None:
        super().__init__()
        self.embed = condition_encoder(condition, features)
        small_init = getattr(self.embed, "small_init", None)  # encoders deeper than one table say how
        if small_init is not None:
            small_init(0.02)
        else:
            nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """h (N, F), c (N, ...) -> (the logit term <embed(c), h> (N,), the encoding embed(c) (N, F), which
        D's extra heads reuse rather than encode c again)."""
        e = self.embed(c)
        return (e * h).sum(dim=1), e


def ask(spec: ConditionSpec, n: int, value: str | int | None = None) -> Tensor:
    """The condition batch for n samples asked for `value` (from `--condition KEY=VALUE`):

    label      3 or a class name -> (n,) int64 all that class; None -> classes 0, 1, ... in turn
    multi_hot  "tag,tag" by name -> (n, T) float 0/1 all those tags; None -> one tag each, in turn
    tokens     "a sentence"      -> (n, L) word ids in the model's vocabulary (`text_tokens`)
    embedding  "a sentence"      -> (n, d) the vector of the frozen encoder named in spec.names"""
    if spec.kind == "embedding":
        from gankit.data.sentences import MINILM, encode_sentences

        if value is None or spec.names[:1] != (MINILM,):
            raise UserError("this model draws from sentence vectors: give a prompt (--prompt) or take them from real data")
        if not str(value).strip():
            raise UserError(f"the prompt {value!r} is empty: describe what to draw")
        return torch.from_numpy(encode_sentences([str(value)])).expand(n, -1).clone()
    if spec.kind == "tokens":
        if value is None:
            raise UserError("this model draws from text: give a prompt (--prompt) or take captions from real data")
        return text_tokens(spec, str(value)).expand(n, -1).clone()
    if spec.kind == "label":
        if value is None:
            return torch.arange(n) % spec.dim
        return torch.full((n,), _class_index(spec, value), dtype=torch.int64)
    if spec.kind == "multi_hot":
        out = torch.zeros(n, spec.dim)
        if value is None:
            out[torch.arange(n), torch.arange(n) % spec.dim] = 1.0
            return out
        for tag in str(value).split(","):
            out[:, _class_index(spec, tag.strip())] = 1.0
        return out
    raise UserError(f"a {spec.kind} condition cannot be asked for here: this model has no encoder for it")


def _class_index(spec: ConditionSpec, value: str | int) -> int:
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < spec.dim:
            raise UserError(f"{text} is out of range; this model has classes 0..{spec.dim - 1}")
        return index
    if text in spec.names:
        return spec.names.index(text)
    keep = 40 if spec.kind == "multi_hot" else 12  # every tag of a tag set (a user picks among them)
    shown = ", ".join(spec.names[:keep]) + (" ..." if len(spec.names) > keep else "")
    raise UserError(f"{text!r} is not a class or tag of this model; it knows 0..{spec.dim - 1}" +
                    (f" ({shown})" if shown else ""))


def text_tokens(spec: ConditionSpec, prompt: str) -> Tensor:
    """A prompt as (1, L) word ids in the vocabulary spec.names (L = the training captions' length).
    An empty prompt, or one with no known word, is refused; one longer than L words is cut, with
    a warning on stderr."""
    import warnings

    from gankit.data.words import tokenize

    words = tokenize(prompt)
    if not words:
        raise UserError(f"the prompt {prompt!r} is empty: describe what to draw")
    index = {w: i for i, w in enumerate(spec.names)}
    length = spec.shape[-1] if spec.shape else len(words)
    if len(words) > length:
        warnings.warn(f"the prompt {prompt[:60]!r}... has {len(words)} words; the text encoder reads the first "
                      f"{length}", stacklevel=2)
        words = words[:length]
    ids = [index.get(w, 1) for w in words]
    if all(i == 1 for i in ids):
        raise UserError(f"no word of the prompt {prompt[:60]!r} is in this model's vocabulary "
                        f"({len(spec.names) - 2} words, e.g. {', '.join(spec.names[2:10])})")
    out = torch.zeros(1, length, dtype=torch.int64)
    out[0, :len(ids)] = torch.tensor(ids)
    return out
