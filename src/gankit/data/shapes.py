"""`shapes`: coloured objects described in English and French, with known ground truth.

No captioned image set can be downloaded here, so gankit draws its own: one object (or two, with
data.objects=2) per RGB image at 16, 32 or 64 px (data.resolution, 0 = 32). Everything a caption can
ask for is recorded, so "did it draw what was asked?" is measured exactly (metrics/attributes.py).

Fields of every split (N examples; K captions per image; L = MAX_WORDS tokens per caption):
    x          uint8 (N, 3, S, S)  image
    shape, colour, size, position, background   int64 (N,) labels (shape2 ... for a second object)
    label_map  uint8 (N, S, S)     0 = background, 1 + shape index per pixel (pixel-exact)
    caption    int64 (N, K, L)     word ids (0 = padding, 1 = unknown; L = 16 per object); train: K = 4 from the
                                   training templates of both languages
The test split holds every attribute combination and, per image, one caption of each prompt set:
    caption (K = 1)         a training template, English
    caption_paraphrase      a held-out template (never in training), English or French in turn
    caption_fr              a training template, French
    combo_held_out          1 when the combination of shape, colour, size and position never
                            occurs in the train split (about 10%: the compositional test)

Both splits are generated from fixed seeds (not the run's), so every run sees the same data, and
cached as one .npz per (split, n, side, objects) under $GANKIT_CACHE/data: ~5 s per 50,000 images.
"""
from __future__ import annotations

import random
import sys

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.base import FieldSpec, PromptSet, TensorData
from gankit.data.drawn import cache_file, cached_arrays, drawn_side
from gankit.data.shapes_draw import BACKGROUNDS, draw, jittered
from gankit.data.sentences import with_sentence_vectors
from gankit.data.shapes_text import COLOURS, MAX_WORDS, POSITIONS, SHAPES, SIZES, Template, caption, templates
from gankit.data.words import SPECIALS, encode, tokenize
from gankit.registry import DATASETS, PROMPT_SETS

VERSION = 2  # 2: two objects in reading order. Bump when drawing or captions change: it is part of the cache file name
ATTRIBUTES = {"shape": SHAPES, "colour": COLOURS, "size": SIZES, "position": POSITIONS}
N_COMBOS = len(SHAPES) * len(COLOURS) * len(SIZES) * len(POSITIONS)  # 1296
TRAIN_CAPTIONS = 4
_SEEDS = {"train": 2017, "test": 2018}


def combo(shape: int, colour: int, size: int, position: int) -> int:
    return ((shape * len(COLOURS) + colour) * len(SIZES) + size) * len(POSITIONS) + position


def held_out_combos() -> frozenset[int]:
    """The ~10% of attribute combinations the train split never shows (fixed, seed 13)."""
    return frozenset(random.Random(13).sample(range(N_COMBOS), N_COMBOS // 10))


def vocabulary() -> tuple[str, ...]:
    """Every word the training templates can produce (each template over every combination, with
    seeded synonyms), after the padding and unknown markers. Held-out templates' own frame words
    are not in it: an encoder meets them as unknown, as it would any new wording."""
    rng, words = random.Random(0), set()
    for t in templates(held_out=False):
        for c in range(N_COMBOS):
            words.update(tokenize(caption(t, *_attributes_of(c), rng)))
    return SPECIALS + tuple(sorted(words))


def _attributes_of(c: int) -> tuple[int, int, int, int]:
    c, position = divmod(c, len(POSITIONS))
    c, size = divmod(c, len(SIZES))
    shape, colour = divmod(c, len(COLOURS))
    return shape, colour, size, position


def _phrase(things: list, lang_templates: tuple[Template, ...], rng: random.Random) -> str:
    joiner = " et " if lang_templates[0].lang == "fr" else " and "
    t = rng.choice(lang_templates)
    return joiner.join(caption(t, th.shape, th.colour, th.size, th.position, rng) for th in things)


def generate(split: str, n: int, side: int, objects: int) -> dict[str, np.ndarray | list]:
    """Draw a split: arrays of every field plus the caption strings (lists per prompt set)."""
    from tqdm import tqdm

    rng = random.Random(_SEEDS[split] + 1000 * objects + side)
    hidden = held_out_combos()
    seen = [c for c in range(N_COMBOS) if c not in hidden]
    train_tpl = {lang: templates(lang, held_out=False) for lang in ("en", "fr")}
    para_tpl = {lang: templates(lang, held_out=True) for lang in ("en", "fr")}
    x = np.zeros((n, 3, side, side), np.uint8)
    maps = np.zeros((n, side, side), np.uint8)
    attrs = np.zeros((n, objects, 4), np.int64)
    background = np.zeros(n, np.int64)
    held = np.zeros(n, np.int64)
    texts: dict[str, list[list[str]]] = {k: [] for k in ("caption", "caption_paraphrase", "caption_fr")}
    for i in tqdm(range(n), desc=f"shapes {split}: drawing", unit="img", disable=None, file=sys.stderr):
        pool = seen if split == "train" else range(N_COMBOS)
        # Objects never share a cell, and come in reading order (top left first), so "the first object"
        # (shape, colour ...) and "the second" (shape2 ...) can be told apart in the picture.
        cells = sorted(rng.sample(range(len(POSITIONS)), objects))
        things = []
        for cell in cells:
            while True:
                s, c, z, _ = _attributes_of(rng.choice(pool))
                if split != "train" or combo(s, c, z, cell) not in hidden:
                    break
            things.append(jittered(rng, s, c, z, cell))
        background[i] = rng.randrange(len(BACKGROUNDS))
        tint = (rng.randint(-8, 8), rng.randint(-8, 8), rng.randint(-8, 8))
        x[i], maps[i] = draw(things, int(background[i]), tint, side)
        attrs[i] = [(t.shape, t.colour, t.size, t.position) for t in things]
        held[i] = any(combo(t.shape, t.colour, t.size, t.position) in hidden for t in things)
        if split == "train":
            texts["caption"].append([_phrase(things, train_tpl[rng.choice(("en", "fr"))], rng)
                                     for _ in range(TRAIN_CAPTIONS)])
        else:
            texts["caption"].append([_phrase(things, train_tpl["en"], rng)])
            texts["caption_paraphrase"].append([_phrase(things, para_tpl[("en", "fr")[i % 2]], rng)])
            texts["caption_fr"].append([_phrase(things, train_tpl["fr"], rng)])
    return {"x": x, "label_map": maps, "attributes": attrs, "background": background, "combo_held_out": held,
            **{k: v for k, v in texts.items() if v}}


def _load_or_generate(split: str, n: int, side: int, objects: int) -> dict[str, np.ndarray]:
    """The split's arrays, drawn once and cached. Captions are kept as strings (one array per prompt
    set) so that other text encoders can read the real words."""
    path = cache_file(f"shapes-v{VERSION}-{side}px-{objects}obj-{split}-{n}.npz")
    return cached_arrays(path, lambda: generate(split, n, side, objects), "shapes")


@DATASETS.register("shapes")
def load_shapes(cfg: DataConfig) -> TensorData:
    """Procedural coloured shapes with attributes, label maps and English/French captions."""
    side = drawn_side(cfg, "shapes", tuple(_SEEDS), (16, 32, 64), 32)
    n = cfg.n_samples if cfg.split == "train" else min(10_000, cfg.n_samples)
    arrays = _load_or_generate(cfg.split, n, side, cfg.objects)
    keep = slice(0, cfg.limit or None)
    vocab = vocabulary()
    index = {w: i for i, w in enumerate(vocab)}
    fields = {"x": torch.from_numpy(arrays["x"][keep]), "label_map": torch.from_numpy(arrays["label_map"][keep]),
              "background": torch.from_numpy(arrays["background"][keep])}
    specs = {"x": FieldSpec("image", (3, side, side)),
             "label_map": FieldSpec("label_map", (side, side), len(SHAPES) + 1, ("background",) + SHAPES),
             "background": FieldSpec("label", (), len(BACKGROUNDS), BACKGROUNDS)}
    for o in range(cfg.objects):
        for a, (name, values) in enumerate(ATTRIBUTES.items()):
            key = name if o == 0 else f"{name}{o + 1}"
            fields[key] = torch.from_numpy(np.ascontiguousarray(arrays["attributes"][keep, o, a]))
            specs[key] = FieldSpec("label", (), len(values), values)
    if cfg.split == "test":
        fields["combo_held_out"] = torch.from_numpy(arrays["combo_held_out"][keep])
        specs["combo_held_out"] = FieldSpec("label", (), 2, ("seen", "held-out"))
    words = {}
    for key in ("caption", "caption_paraphrase", "caption_fr"):
        if key in arrays:
            texts = words[key] = arrays[key][keep]
            length = MAX_WORDS * cfg.objects  # two objects: two phrases, joined by and / et
            ids = encode([str(t) for t in texts.reshape(-1)], index, length).reshape(*texts.shape, length)
            fields[key] = torch.from_numpy(ids)
            specs[key] = FieldSpec("tokens", tuple(ids.shape[1:]), len(vocab), vocab)
    data = TensorData(fields, specs, source=f"shapes:{cfg.split}:{side}px:{cfg.objects}obj:n={n}", texts=words)
    return with_sentence_vectors(data, cfg.text_encoder)


@PROMPT_SETS.register("shapes")
def prompt_sets(test: TensorData) -> list[PromptSet]:
    """The four prompt sets of the test split: training templates in English, held-out templates
    (paraphrases, English and French), training templates in French (all on combinations seen in
    training), and training templates on the ~10% of combinations never seen in training."""
    held = test.fields["combo_held_out"].bool()
    seen_rows, held_rows = (~held).nonzero().flatten(), held.nonzero().flatten()
    asked = tuple(k for k in test.specs if k.rstrip("2") in ATTRIBUTES)
    return [PromptSet("training captions", "caption", seen_rows, asked),
            PromptSet("unseen paraphrases", "caption_paraphrase", seen_rows, asked),
            PromptSet("French prompts", "caption_fr", seen_rows, asked),
            PromptSet("held-out combinations", "caption", held_rows, asked)]
