"""Captions of the `shapes` dataset: English and French templates, synonyms, a tokenizer.

An image shows one object with four named attributes (indices into SHAPES, COLOURS, SIZES and
POSITIONS); its background is deliberately never named, so it stays free for the generator.

Design. A caption is a *frame* (a template's text, e.g. "there is {np} {where}") whose slots are
filled from a per-language *lexicon* of synonyms:
    * Synonyms are chosen per slot, once per caption, in a fixed order (shape, colour, size,
      position) and independently of the template, so the same rng state gives the same words
      whatever the frame, and every template of a language draws from the SAME lexicon. Held-out
      templates (the paraphrase test) therefore use only attribute words that training captions
      also use; what is new is the frame around them (its own words and the order of the slots).
    * One chosen synonym can surface in several forms: English positions have a prepositional form
      ("in the upper left") and a bare one ("upper left"), French adjectives agree in gender with
      the chosen noun (une petite étoile verte / un petit rond vert). Agreement is done here, in
      code, not in the frames, so a frame never has to know the noun.
    * Frames vary the order of the attributes (position first or last, size before the noun or as
      a separate predicate after it), so a reader needs bag-of-words or local-window evidence,
      not a fixed-position parser.
Slots a frame may use (`{name}` in Template.text):
    np / npdef  indefinite / definite noun phrase with size, colour and shape ("a small red circle")
    nc          indefinite noun phrase without size ("a red circle")
    shape, colour, size   bare words; size is also the predicative form ("it is small")
    where       position as an adverbial ("in the top left corner"; French: "en haut à gauche")
    place       position as a bare label ("top left corner"); in French the same as where
    pron        subject pronoun agreeing with the noun (il / elle; English: it)
Captions are lower-case-initial without a final full stop (like `describe`), so two captions can
be joined with "and" / "et" into one sentence. Every caption has at most MAX_WORDS tokens.
"""
from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gankit.data.words import tokenize

SHAPES = ("circle", "square", "triangle", "star", "diamond", "cross")
COLOURS = ("red", "green", "blue", "yellow", "purple", "cyan", "orange", "white")
SIZES = ("small", "medium", "large")
# row-major 3x3 cells
POSITIONS = ("top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right")
MAX_WORDS = 16
LANGS = ("en", "fr")
ATTRIBUTE_SLOTS = ("shape", "colour", "size", "position")

# --- English lexicon: index [value][synonym]. Backgrounds (black, grey, navy) must stay unnamed,
# hence no "navy" among the blues.
_EN_SHAPE = (("circle", "disc", "round shape"), ("square", "box", "block"), ("triangle", "triangular shape"),
             ("star", "five-pointed star"), ("diamond", "rhombus", "lozenge"), ("cross", "plus sign"))
_EN_COLOUR = (("red", "crimson", "scarlet"), ("green", "emerald", "lime"), ("blue", "azure", "cobalt"),
              ("yellow", "golden", "lemon"), ("purple", "violet", "plum"), ("cyan", "turquoise", "aqua"),
              ("orange", "amber", "tangerine"), ("white", "snowy", "ivory"))
_EN_SIZE = (("small", "tiny", "little"), ("medium", "medium-sized", "mid-sized"), ("large", "big", "huge"))
# (adverbial, bare label) per synonym
_EN_POSITION: tuple[tuple[tuple[str, str], ...], ...] = (
    (("in the top left corner", "top left corner"), ("in the upper left", "upper left"),
     ("at the top left", "top left")),
    (("at the top", "top"), ("near the top edge", "top edge"), ("along the top", "upper edge")),
    (("in the top right corner", "top right corner"), ("in the upper right", "upper right"),
     ("at the top right", "top right")),
    (("on the left", "left"), ("at the left edge", "left edge"), ("on the left side", "left side")),
    (("in the centre", "centre"), ("in the middle", "middle"), ("at the center", "center")),
    (("on the right", "right"), ("at the right edge", "right edge"), ("on the right side", "right side")),
    (("in the bottom left corner", "bottom left corner"), ("in the lower left", "lower left"),
     ("at the bottom left", "bottom left")),
    (("at the bottom", "bottom"), ("near the bottom edge", "bottom edge"), ("along the bottom", "lower edge")),
    (("in the bottom right corner", "bottom right corner"), ("in the lower right", "lower right"),
     ("at the bottom right", "bottom right")),
)

# --- French lexicon. Nouns carry their gender; adjectives are (masculine, feminine). Colour nouns
# used as adjectives (orange, cyan, turquoise, émeraude, azur, mauve) are invariable.
_FR_SHAPE = ((("rond", "m"), ("cercle", "m"), ("disque", "m")), (("carré", "m"),), (("triangle", "m"),),
             (("étoile", "f"),), (("losange", "m"),), (("croix", "f"),))
_FR_COLOUR = ((("rouge", "rouge"), ("écarlate", "écarlate")), (("vert", "verte"), ("émeraude", "émeraude")),
              (("bleu", "bleue"), ("azur", "azur")), (("jaune", "jaune"), ("doré", "dorée")),
              (("violet", "violette"), ("mauve", "mauve")), (("cyan", "cyan"), ("turquoise", "turquoise")),
              (("orange", "orange"),), (("blanc", "blanche"), ("ivoire", "ivoire")))
# (masculine, feminine, goes before the noun). petit/grand/gros/énorme/minuscule precede the noun;
# "moyen" and "de taille moyenne" follow it (after the colour, like any other post-nominal phrase).
_FR_SIZE = ((("petit", "petite", True), ("minuscule", "minuscule", True)),
            (("moyen", "moyenne", False), ("de taille moyenne", "de taille moyenne", False)),
            (("grand", "grande", True), ("gros", "grosse", True), ("énorme", "énorme", True)))
_FR_POSITION = (("en haut à gauche", "dans le coin supérieur gauche"), ("en haut", "dans la partie supérieure"),
                ("en haut à droite", "dans le coin supérieur droit"), ("à gauche", "sur la gauche"),
                ("au centre", "au milieu"), ("à droite", "sur la droite"),
                ("en bas à gauche", "dans le coin inférieur gauche"), ("en bas", "dans la partie inférieure"),
                ("en bas à droite", "dans le coin inférieur droit"))

_LEXICON = {"en": (_EN_SHAPE, _EN_COLOUR, _EN_SIZE, _EN_POSITION),
            "fr": (_FR_SHAPE, _FR_COLOUR, _FR_SIZE, _FR_POSITION)}


def _forms(entry: object) -> tuple[str, ...]:
    """Every surface string of one lexicon entry (strings only; genders and flags dropped)."""
    if isinstance(entry, str):
        return (entry,) if entry not in ("m", "f") else ()
    if isinstance(entry, tuple):
        return tuple(dict.fromkeys(s for e in entry for s in _forms(e)))
    return ()


# SYNONYMS[lang][slot][value] -> every string that may stand for that value in a caption (all
# synonyms, all inflected or bare/adverbial forms). Public so tests and metrics can check mentions.
SYNONYMS: Mapping[str, Mapping[str, tuple[tuple[str, ...], ...]]] = {
    lang: {slot: tuple(_forms(v) for v in table) for slot, table in zip(ATTRIBUTE_SLOTS, tables)}
    for lang, tables in _LEXICON.items()}

_SLOTS = frozenset(("np", "npdef", "nc", "shape", "colour", "size", "where", "place", "pron"))
_COVERS = {"np": {"shape", "colour", "size"}, "npdef": {"shape", "colour", "size"}, "nc": {"shape", "colour"},
           "shape": {"shape"}, "colour": {"colour"}, "size": {"size"}, "where": {"position"},
           "place": {"position"}, "pron": set()}


@dataclass(frozen=True)
class Template:
    id: str  # e.g. "en-03", "fr-11"
    lang: str  # "en" | "fr"
    held_out: bool  # True: never used for training captions (paraphrase test)
    text: str  # the frame: literal words and {slot} fields (see the module docstring)

    def __post_init__(self) -> None:
        # Checked at import: a frame that forgets an attribute would silently mislabel data.
        if self.lang not in LANGS:
            raise ValueError(f"template {self.id}: unknown language {self.lang!r}")
        unknown = set(self.slots) - _SLOTS
        if unknown:
            raise ValueError(f"template {self.id}: unknown slots {sorted(unknown)}")
        covered = set().union(*(_COVERS[s] for s in self.slots))
        if covered != set(ATTRIBUTE_SLOTS):
            raise ValueError(f"template {self.id}: does not state {sorted(set(ATTRIBUTE_SLOTS) - covered)}")

    @property
    def slots(self) -> tuple[str, ...]:
        """The slot names of the frame, in order."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None)

    @property
    def frame_words(self) -> tuple[str, ...]:
        """Tokens of the frame's literal text (the words a template adds around the slots)."""
        return tuple(tokenize(re.sub(r"\{\w+\}", " ", self.text)))


def _t(n: int, lang: str, text: str, held_out: bool = False) -> Template:
    return Template(f"{lang}-{n:02d}", lang, held_out, text)


TEMPLATES: tuple[Template, ...] = (
    _t(0, "en", "{np} {where}"),
    _t(1, "en", "there is {np} {where}"),
    _t(2, "en", "{where}, there is {np}"),
    _t(3, "en", "{nc}, {size}, {where}"),
    _t(4, "en", "the picture shows {np} {where}"),
    _t(5, "en", "{npdef} is {where}"),
    _t(6, "en", "{nc} {where}; {pron} is {size}"),
    _t(7, "en", "{size} {colour} {shape}, {place}"),
    _t(8, "en", "one {colour} {shape}, {size}, placed {where}"),
    _t(9, "en", "{place}: {np}", held_out=True),
    _t(10, "en", "{where} you can see {np}", held_out=True),
    _t(11, "en", "the {place} holds {nc} that is {size}", held_out=True),
    _t(0, "fr", "{np} {where}"),
    _t(1, "fr", "il y a {np} {where}"),
    _t(2, "fr", "{where}, il y a {np}"),
    _t(3, "fr", "{nc}, {size}, {where}"),
    _t(4, "fr", "on voit {np} {where}"),
    _t(5, "fr", "{npdef} se trouve {where}"),
    _t(6, "fr", "{nc} {where} ; {pron} est {size}"),
    _t(7, "fr", "{shape} {colour}, {size}, {where}"),
    _t(8, "fr", "l'image montre {np} {where}"),
    _t(9, "fr", "{where} : {np}", held_out=True),
    _t(10, "fr", "regardez {where} : {np} s'y trouve", held_out=True),
    _t(11, "fr", "voici {nc}, plutôt {size}, {where}", held_out=True),
)


def templates(lang: str | None = None, held_out: bool | None = None) -> tuple[Template, ...]:
    """TEMPLATES filtered by language and/or held-out flag (None: either)."""
    return tuple(t for t in TEMPLATES
                 if (lang is None or t.lang == lang) and (held_out is None or t.held_out == held_out))


_VOWEL = "aeiouéèêàâîïôûœ"  # no h-initial words in the lexicon, so no h muet / aspiré question


def _en_slots(shape: int, colour: int, size: int, position: int, picks: Sequence[int]) -> dict[str, str]:
    noun = _pick(_EN_SHAPE[shape], picks[0])
    adj = _pick(_EN_COLOUR[colour], picks[1])
    big = _pick(_EN_SIZE[size], picks[2])
    where, place = _pick(_EN_POSITION[position], picks[3])

    def a(rest: str) -> str:  # a / an by sound; every lexicon word is spelled as it sounds here
        return ("an " if rest[0] in _VOWEL else "a ") + rest

    return {"np": a(f"{big} {adj} {noun}"), "npdef": f"the {big} {adj} {noun}", "nc": a(f"{adj} {noun}"),
            "shape": noun, "colour": adj, "size": big, "where": where, "place": place, "pron": "it"}


def _fr_slots(shape: int, colour: int, size: int, position: int, picks: Sequence[int]) -> dict[str, str]:
    noun, gender = _pick(_FR_SHAPE[shape], picks[0])
    fem = gender == "f"
    adj = _pick(_FR_COLOUR[colour], picks[1])[fem]
    m, f, before = _pick(_FR_SIZE[size], picks[2])
    big = f if fem else m
    where = _pick(_FR_POSITION[position], picks[3])
    # Size adjectives like petit/grand precede the noun; the colour (and "moyen") follow it.
    core = f"{big} {noun} {adj}" if before else f"{noun} {adj} {big}"
    definite = "l'" + core if core[0] in _VOWEL else ("la " if fem else "le ") + core
    article = "une " if fem else "un "
    return {"np": article + core, "npdef": definite, "nc": f"{article}{noun} {adj}", "shape": noun,
            "colour": adj, "size": big, "where": where, "place": where, "pron": "elle" if fem else "il"}


def _pick(options: Sequence, i: int):  # noqa: ANN202  (heterogeneous lexicon entries)
    # Modulo, so any non-negative picks are valid whatever a slot's number of synonyms.
    return options[i % len(options)]


def render(template: Template, shape: int, colour: int, size: int, position: int,
           picks: Sequence[int] = (0, 0, 0, 0)) -> str:
    """The caption of `template` with explicit synonym choices: picks = (shape, colour, size,
    position) synonym indices, each taken modulo that value's number of synonyms."""
    fill = _en_slots if template.lang == "en" else _fr_slots
    return template.text.format_map(fill(shape, colour, size, position, picks))


def caption(template: Template, shape: int, colour: int, size: int, position: int, rng: random.Random) -> str:
    """A caption stating all four attributes, with synonyms drawn from `rng` (one per slot)."""
    tables = _LEXICON[template.lang]
    # Same draws in the same order for every template: the words depend on rng only, not the frame.
    picks = [rng.randrange(len(table[v])) for table, v in zip(tables, (shape, colour, size, position))]
    return render(template, shape, colour, size, position, picks)


def describe(shape: int, colour: int, size: int, position: int) -> str:
    """Canonical English, no synonyms: "a small red circle in the top left corner"."""
    return render(TEMPLATES[0], shape, colour, size, position)




