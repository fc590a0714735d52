"""Captions of the `shapes` dataset: coverage, length, grammar samples, paraphrase split, tokenizer."""
from __future__ import annotations

import itertools
import random

import pytest

from gankit.data.shapes_text import (COLOURS, MAX_WORDS, POSITIONS, SHAPES, SIZES, SYNONYMS, TEMPLATES, Template,
                                     caption, describe, render, templates, tokenize)

COMBOS = list(itertools.product(range(len(SHAPES)), range(len(COLOURS)), range(len(SIZES)), range(len(POSITIONS))))
ATTRS = ("shape", "colour", "size", "position")
PICKS = list(itertools.product(range(3), repeat=4))  # 3 = the most synonyms any value has
STAR, CIRCLE, CROSS, SQUARE = 3, 0, 5, 1
RED, GREEN, BLUE, PURPLE, CYAN, ORANGE, WHITE = 0, 1, 2, 4, 5, 6, 7
SMALL, MEDIUM, LARGE = 0, 1, 2
FR00 = next(t for t in TEMPLATES if t.id == "fr-00")  # "{np} {where}"


@pytest.fixture(scope="module")
def every_caption() -> list[tuple[Template, tuple[int, int, int, int], str]]:
    """Every template x every attribute combination, one fixed rng (31,104 captions)."""
    rng = random.Random(0)
    return [(t, c, caption(t, *c, rng)) for t in TEMPLATES for c in COMBOS]


def _contains(tokens: list[str], phrase: str) -> bool:
    p = tokenize(phrase)
    return any(tokens[i:i + len(p)] == p for i in range(len(tokens) - len(p) + 1))


def test_template_counts_and_filter() -> None:
    for lang in ("en", "fr"):
        assert len(templates(lang)) >= 12
        assert len(templates(lang, held_out=True)) == 3
        assert len(templates(lang, held_out=False)) == len(templates(lang)) - 3
    assert len({t.id for t in TEMPLATES}) == len(TEMPLATES)
    assert all(t.id.startswith(t.lang + "-") for t in TEMPLATES)
    assert templates() == TEMPLATES


def test_lengths_and_mentions(every_caption) -> None:
    for t, combo, text in every_caption:
        tokens = tokenize(text)
        assert 0 < len(tokens) <= MAX_WORDS, (t.id, text)
        for attr, value in zip(ATTRS, combo):
            assert any(_contains(tokens, s) for s in SYNONYMS[t.lang][attr][value]), (t.id, attr, text)


def test_background_never_named(every_caption) -> None:
    banned = {"background", "black", "grey", "gray", "navy", "fond", "noir", "noire", "gris", "grise", "marine"}
    for t, _, text in every_caption:
        assert not banned & set(tokenize(text)), (t.id, text)


def test_synonym_tables_shape_and_no_overlap() -> None:
    sizes = {"shape": len(SHAPES), "colour": len(COLOURS), "size": len(SIZES), "position": len(POSITIONS)}
    for lang in ("en", "fr"):
        for attr, n in sizes.items():
            table = SYNONYMS[lang][attr]
            assert len(table) == n and all(table), (lang, attr)
            forms = [s for entry in table for s in entry]
            assert len(forms) == len(set(forms)), (lang, attr)  # no word stands for two values


def test_captions_identify_attributes(every_caption) -> None:
    # Different combinations never share a caption, whatever the template and synonyms.
    seen: dict[str, tuple[int, int, int, int]] = {}
    for _, combo, text in every_caption:
        assert seen.setdefault(text, combo) == combo, text


def test_french_agreement() -> None:
    def fr(shape: int, colour: int, size: int, picks: tuple[int, int, int, int] = (0, 0, 0, 0)) -> str:
        return render(FR00, shape, colour, size, 4, picks)

    assert fr(STAR, GREEN, SMALL) == "une petite étoile verte au centre"
    assert fr(CIRCLE, RED, SMALL) == "un petit rond rouge au centre"
    assert fr(CIRCLE, RED, SMALL, (1, 0, 0, 0)) == "un petit cercle rouge au centre"
    assert fr(CROSS, PURPLE, LARGE) == "une grande croix violette au centre"
    assert fr(SQUARE, BLUE, LARGE, (0, 0, 1, 0)) == "un gros carré bleu au centre"
    assert fr(STAR, WHITE, LARGE, (0, 0, 1, 0)) == "une grosse étoile blanche au centre"
    assert fr(SQUARE, WHITE, MEDIUM) == "un carré blanc moyen au centre"
    assert fr(STAR, BLUE, MEDIUM) == "une étoile bleue moyenne au centre"
    assert fr(STAR, ORANGE, SMALL) == "une petite étoile orange au centre"  # invariable colours
    assert fr(CROSS, CYAN, SMALL) == "une petite croix cyan au centre"
    npdef = Template("fr-x", "fr", False, "{npdef} {where}")
    assert render(npdef, STAR, GREEN, MEDIUM, 4) == "l'étoile verte moyenne au centre"
    assert render(npdef, STAR, GREEN, LARGE, 4, (0, 0, 2, 0)) == "l'énorme étoile verte au centre"
    assert render(npdef, CROSS, GREEN, SMALL, 4) == "la petite croix verte au centre"
    pron = Template("fr-y", "fr", False, "{nc} {where} ; {pron} est {size}")
    assert render(pron, STAR, RED, SMALL, 4) == "une étoile rouge au centre ; elle est petite"
    assert render(pron, SQUARE, RED, SMALL, 4) == "un carré rouge au centre ; il est petit"


def test_french_agreement_everywhere(every_caption) -> None:
    # Over all captions: feminine nouns never get masculine adjectives, and vice versa.
    masc = {"un", "petit", "grand", "gros", "moyen", "vert", "bleu", "violet", "blanc", "doré", "il", "le"}
    fem = {"une", "petite", "grande", "grosse", "moyenne", "verte", "bleue", "violette", "blanche", "dorée",
           "elle", "la"}
    frame = {"la", "le"}  # articles inside position phrases ("dans la partie", "dans le coin")
    for t, (shape, *_), text in every_caption:
        if t.lang != "fr":
            continue
        # "de taille moyenne" is invariable; frame words ("il y a") agree with nothing.
        words = set(tokenize(text.replace("de taille moyenne", ""))) - frame - set(t.frame_words)
        wrong = masc if shape in (STAR, CROSS) else fem
        assert not words & wrong, (t.id, text)


def test_english_articles() -> None:
    en00 = templates("en")[0]
    assert render(en00, CIRCLE, ORANGE, SMALL, 0) == "a small orange circle in the top left corner"
    nc = Template("en-x", "en", False, "{nc}, {size}, {where}")
    assert render(nc, CIRCLE, ORANGE, SMALL, 4).startswith("an orange circle, small")
    assert render(nc, CIRCLE, RED, SMALL, 4).startswith("a red circle, small")


def test_describe() -> None:
    assert describe(0, 0, 0, 0) == "a small red circle in the top left corner"
    assert describe(STAR, BLUE, LARGE, 4) == "a large blue star in the centre"
    assert describe(1, 2, 1, 8) == describe(1, 2, 1, 8)


def test_tokenize() -> None:
    assert tokenize("A medium-sized red circle.") == ["a", "medium", "sized", "red", "circle"]
    assert tokenize("L'image montre une ÉTOILE verte, à gauche !") == \
        ["l", "image", "montre", "une", "étoile", "verte", "à", "gauche"]
    assert tokenize("cœur 42px x_y") == ["cœur", "42", "px", "x", "y"]
    assert tokenize("e\u0301toile ﬁne") == ["étoile", "fine"]  # NFKC: composed accents, no ligatures
    assert tokenize("  ,;: ") == []


def test_held_out_frames_are_new() -> None:
    # For the same attributes and synonym choices, no training template renders a held-out caption.
    sample = COMBOS[::7]
    for lang in ("en", "fr"):
        train = {render(t, *c, p) for t in templates(lang, held_out=False) for c in sample for p in PICKS[::5]}
        for t in templates(lang, held_out=True):
            for c in sample:
                for p in PICKS[::5]:
                    assert render(t, *c, p) not in train, t.id
        texts = {t.text for t in templates(lang, held_out=False)}
        assert not texts & {t.text for t in templates(lang, held_out=True)}


def test_held_out_use_training_words(every_caption) -> None:
    # A held-out caption's words are training words or the held-out frame's own words: attribute
    # words are shared, only the frame is new.
    vocab: dict[str, set[str]] = {"en": set(), "fr": set()}
    for t, _, text in every_caption:
        if not t.held_out:
            vocab[t.lang].update(tokenize(text))
    for t, _, text in every_caption:
        if t.held_out:
            assert set(tokenize(text)) <= vocab[t.lang] | set(t.frame_words), (t.id, text)
    for lang in ("en", "fr"):
        held = {s for t in templates(lang, held_out=True) for s in t.slots}
        assert held <= {s for t in templates(lang, held_out=False) for s in t.slots}


def test_deterministic() -> None:
    for t in TEMPLATES:
        a, b = random.Random(5), random.Random(5)
        assert [caption(t, *c, a) for c in COMBOS[:50]] == [caption(t, *c, b) for c in COMBOS[:50]]
    # Synonyms depend on the rng only, not on the frame: the same state picks the same words.
    words = [set(tokenize(caption(t, STAR, RED, SMALL, 0, random.Random(3)))) for t in templates("en")]
    shared = set.intersection(*words)
    assert shared & set(SYNONYMS["en"]["colour"][RED])


def test_synonyms_vary_with_rng() -> None:
    rng = random.Random(1)
    seen = {caption(TEMPLATES[0], CIRCLE, RED, SMALL, 0, rng) for _ in range(2000)}
    assert len(seen) == 81  # 3 shape x 3 colour x 3 size x 3 position synonyms


def test_template_validation() -> None:
    with pytest.raises(ValueError, match="does not state"):
        Template("en-x", "en", False, "{np} somewhere")
    with pytest.raises(ValueError, match="unknown slots"):
        Template("en-x", "en", False, "{np} {where} {mood}")
    with pytest.raises(ValueError, match="language"):
        Template("de-x", "de", False, "{np} {where}")
