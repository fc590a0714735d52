"""`characters`: anime-style portraits with the tag set of Jin et al. (2017), drawn, with known ground truth.

Jin et al. trained a tag-conditioned GAN on anime faces tagged with hair colour, hair style, eye
colour and a few yes/no attributes. Those faces cannot be downloaded here, so gankit draws its own
(characters_draw.py): one head and shoulders per RGB image at 32 or 64 px (data.resolution, 0 = 64),
every tag recorded, so "did it draw what was asked?" is measured exactly, as with `shapes`.

Fields of both splits (N examples; T = 24 tags; K = 3 captions of L = MAX_WORDS = 24 word ids):
    x            uint8 (N, 3, S, S)  image
    hair_colour  int64 (N,)  8 values      hair_style  int64 (N,)  long, short, twin tails, ponytail
    eye_colour   int64 (N,)  6 values      smile, open_mouth, blush, hat, glasses, ribbon  int64 (N,) no/yes
    background   int64 (N,)  4 light colours (not a tag, never in captions: left free)
    tags         uint8 (N, T) multi-hot over TAG_NAMES: one-hot hair colour, hair style and eye colour,
                 then the six yes/no tags (the conditioning of Jin et al.)
    caption      int64 (N, K, L) captions stating every tag: K = 0 English, 1 French, 2 either
Tags are drawn independently and uniformly (yes/no tags with probability 1/2, hat and glasses 0.3),
from a fixed seed per split (not the run's), so every run sees the same data and the first rows do
not depend on n or on the side: the 32 and 64 px sets show the same characters. Each split is
cached as one .npz per (side, split, n) under $GANKIT_CACHE/data, captions as strings (as shapes).
Why L = 24 and not 16: a French caption with every tag present needs 24 words (characters_text.py).
"""
from __future__ import annotations

import random
import sys
from functools import lru_cache

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.base import FieldSpec, PromptSet, TensorData
from gankit.data.characters_draw import BACKGROUNDS, draw, jittered
from gankit.data.drawn import cache_file, cached_arrays, drawn_side
from gankit.data.sentences import with_sentence_vectors
from gankit.data.characters_text import (BINARY_TAGS, EYE_COLOURS, HAIR_COLOURS, HAIR_STYLES, MAX_WORDS, N_PICKS,
                                         NO_YES, TAG_NAMES, TEMPLATES, Tags, caption, render, templates)
from gankit.data.words import SPECIALS, encode, tokenize
from gankit.registry import DATASETS, PROMPT_SETS

VERSION = 1  # bump when drawing or captions change: it is part of the cache file name
ATTRIBUTES: dict[str, tuple[str, ...]] = {"hair_colour": HAIR_COLOURS, "hair_style": HAIR_STYLES,
                                          "eye_colour": EYE_COLOURS, **{b: NO_YES for b in BINARY_TAGS}}
P_YES = {"smile": 0.5, "open_mouth": 0.5, "blush": 0.5, "hat": 0.3, "glasses": 0.3, "ribbon": 0.5}
CAPTIONS = 3
_SEEDS = {"train": 3017, "test": 3018}


@lru_cache(maxsize=1)
def vocabulary() -> tuple[str, ...]:
    """Every word the templates can produce, after the padding and unknown markers. Each template is
    rendered for every value of every tag (with all, none and each one of the yes/no tags, which
    covers every phrase and joiner) under every synonym choice, so no generated caption has an
    unknown word (the tests check it on real captions)."""
    words: set[str] = set()
    patterns = [(0,) * 6, (1,) * 6] + [tuple(int(i == j) for i in range(6)) for j in range(6)]
    for t in TEMPLATES:
        for v in range(len(HAIR_COLOURS)):
            for yes_no in patterns:
                tags = Tags(v, v % len(HAIR_STYLES), v % len(EYE_COLOURS), *yes_no)
                for p in range(3):  # no slot has more than 3 synonyms; picks are taken modulo
                    words.update(tokenize(render(t, tags, (p,) * N_PICKS)))
    return SPECIALS + tuple(sorted(words))


def sample_tags(rng: random.Random) -> Tags:
    """One character's tags, each drawn independently."""
    return Tags(rng.randrange(len(HAIR_COLOURS)), rng.randrange(len(HAIR_STYLES)), rng.randrange(len(EYE_COLOURS)),
                *(int(rng.random() < P_YES[b]) for b in BINARY_TAGS))


def generate(split: str, n: int, side: int) -> dict[str, np.ndarray | list]:
    """Draw a split: the label arrays (N, 9 tags + background), images and caption strings (N, K)."""
    from tqdm import tqdm

    rng = random.Random(_SEEDS[split])  # the same characters at 32 and 64 px
    lang_templates = {lang: templates(lang) for lang in ("en", "fr")}
    x = np.zeros((n, 3, side, side), np.uint8)
    labels = np.zeros((n, len(ATTRIBUTES) + 1), np.int64)
    texts: list[list[str]] = []
    for i in tqdm(range(n), desc=f"characters {split}: drawing", unit="img", disable=None, file=sys.stderr):
        tags = sample_tags(rng)
        background = rng.randrange(len(BACKGROUNDS))
        x[i] = draw(jittered(rng, tags, background), side)
        labels[i] = (*tags, background)
        langs = ("en", "fr", rng.choice(("en", "fr")))
        texts.append([caption(rng.choice(lang_templates[lang]), tags, rng) for lang in langs])
    return {"x": x, "labels": labels, "caption": texts}


def _load_or_generate(split: str, n: int, side: int) -> dict[str, np.ndarray]:
    """The split's arrays, drawn once and cached."""
    path = cache_file(f"characters-v{VERSION}-{side}px-{split}-{n}.npz")
    return cached_arrays(path, lambda: generate(split, n, side), "characters")


def multi_hot(labels: np.ndarray) -> np.ndarray:
    """uint8 (N, T) tag vectors from label rows (N, >= 9) in ATTRIBUTES order."""
    out = np.zeros((len(labels), len(TAG_NAMES)), np.uint8)
    rows = np.arange(len(labels))
    offset = 0
    for a, values in enumerate(list(ATTRIBUTES.values())[:3]):  # the one-hot groups
        out[rows, offset + labels[:, a]] = 1
        offset += len(values)
    out[:, offset:] = labels[:, 3:len(ATTRIBUTES)]  # the yes/no tags, in BINARY_TAGS order
    return out


@DATASETS.register("characters")
def load_characters(cfg: DataConfig) -> TensorData:
    """Procedural anime-style portraits with Jin et al. tags and English/French captions."""
    side = drawn_side(cfg, "characters", tuple(_SEEDS), (32, 64), 64)
    n = cfg.n_samples if cfg.split == "train" else min(10_000, cfg.n_samples)
    arrays = _load_or_generate(cfg.split, n, side)
    keep = slice(0, cfg.limit or None)
    labels = arrays["labels"][keep]
    fields = {"x": torch.from_numpy(arrays["x"][keep])}
    specs = {"x": FieldSpec("image", (3, side, side))}
    for a, (name, values) in enumerate([*ATTRIBUTES.items(), ("background", BACKGROUNDS)]):
        fields[name] = torch.from_numpy(np.ascontiguousarray(labels[:, a]))
        specs[name] = FieldSpec("label", (), len(values), values)
    fields["tags"] = torch.from_numpy(multi_hot(labels))
    specs["tags"] = FieldSpec("multi_hot", (len(TAG_NAMES),), len(TAG_NAMES), TAG_NAMES)
    vocab = vocabulary()
    texts = arrays["caption"][keep]
    index = {w: i for i, w in enumerate(vocab)}
    ids = encode([str(t) for t in texts.reshape(-1)], index, MAX_WORDS).reshape(*texts.shape, MAX_WORDS)
    fields["caption"] = torch.from_numpy(ids)
    specs["caption"] = FieldSpec("tokens", tuple(ids.shape[1:]), len(vocab), vocab)
    data = TensorData(fields, specs, source=f"characters:{cfg.split}:{side}px:n={n}", texts={"caption": texts})
    return with_sentence_vectors(data, cfg.text_encoder)


@PROMPT_SETS.register("characters")
def prompt_sets(test: TensorData) -> list[PromptSet]:
    """One prompt set: every test row asked for by its tag vector (Jin et al.'s conditioning), judged
    on all nine tagged attributes; the background is left free."""
    return [PromptSet("test tags", "tags", torch.arange(len(test)), tuple(ATTRIBUTES))]
