"""Tags and captions of the `characters` dataset: the Jin et al. (2017) style tag set, in English and French.

A portrait is fully described by nine tags (`Tags`): hair colour, hair style, eye colour and six
yes/no tags (smile, open mouth, blush, hat, glasses, ribbon). The background is never named, so it
stays free for the generator, as in `shapes`.

Design. Like shapes_text, a caption is a *frame* (Template.text) whose slots are filled from a
per-language lexicon of synonyms, but here most of a caption is optional (a yes/no tag that is "no"
is simply not said), so the slots are whole phrases that may be empty:
    hair    hair colour and style ("long blue hair", "a pink ponytail"; French "aux cheveux bleus en
            couettes"); French also has hair_bare, the same without "aux"
    eyes    "red eyes" (French "aux yeux rouges"; eyes_bare "yeux rouges")
    face    ", smiling and blushing": smile, open mouth and blush (smile + open mouth is one phrase,
            "smiling open-mouthed"), or "" when none of them is present
    wear    ", wearing a hat, glasses and a ribbon" (French ", avec chapeau, lunettes et ruban"), or ""
    tags    the plain tag list, Jin et al. style ("blonde hair, ponytail, blue eyes, smile, hat")
Synonyms are drawn once per caption, one per slot, in a fixed order and whatever the frame (as in
shapes_text), so one rng state gives the same words in every frame. Every phrase that states a tag
contains a word that states only that tag (the tests check a caption's words against its tags both
ways); colours that hair and eyes share are told apart by which other colour words are present.
Captions mentioning every tag need more than 16 words in French, so MAX_WORDS is 24; the tests
check that no caption the templates can produce is longer.
"""
from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

HAIR_COLOURS = ("blonde", "brown", "black", "blue", "pink", "purple", "green", "red")
HAIR_STYLES = ("long", "short", "twin tails", "ponytail")
EYE_COLOURS = ("blue", "red", "green", "brown", "purple", "yellow")
BINARY_TAGS = ("smile", "open_mouth", "blush", "hat", "glasses", "ribbon")  # field names
NO_YES = ("no", "yes")
# The multi-hot tag vector: one-hot hair colour, hair style and eye colour, then the yes/no tags.
TAG_NAMES: tuple[str, ...] = (tuple(f"{c} hair" for c in HAIR_COLOURS)
                              + ("long hair", "short hair", "twin tails", "ponytail")
                              + tuple(f"{c} eyes" for c in EYE_COLOURS)
                              + tuple(b.replace("_", " ") for b in BINARY_TAGS))
MAX_WORDS = 24
LANGS = ("en", "fr")


class Tags(NamedTuple):
    """Everything a caption states: value indices (yes/no tags: 0 or 1)."""

    hair_colour: int
    hair_style: int
    eye_colour: int
    smile: int = 0
    open_mouth: int = 0
    blush: int = 0
    hat: int = 0
    glasses: int = 0
    ribbon: int = 0


def tag_indices(t: Tags) -> list[int]:
    """Positions in TAG_NAMES of the tags that are on."""
    first = len(HAIR_COLOURS) + len(HAIR_STYLES) + len(EYE_COLOURS)
    on = [t.hair_colour, len(HAIR_COLOURS) + t.hair_style, len(HAIR_COLOURS) + len(HAIR_STYLES) + t.eye_colour]
    return on + [first + k for k, name in enumerate(BINARY_TAGS) if getattr(t, name)]


# --- English lexicon: [value][synonym]. Colour words of hair and eyes never name another colour
# ("golden" is only yellow eyes), so a caption's colour words can be checked against its tags.
_EN_HAIR = (("blonde", "blond"), ("brown", "chestnut"), ("black", "raven"), ("blue",), ("pink",),
            ("purple", "violet"), ("green",), ("red", "crimson"))
_EN_EYES = (("blue",), ("red", "crimson"), ("green", "emerald"), ("brown", "hazel"), ("purple", "violet"),
            ("yellow", "golden", "amber"))
_EN_STYLE = (("long {c} hair", "long flowing {c} hair"), ("short {c} hair", "a short {c} bob"),
             ("{c} twin tails", "{c} twintails"), ("a {c} ponytail", "a high {c} ponytail"))
# --- French: colours agree with "cheveux" / "yeux" (masculine plural); "marron" is invariable.
_FR_HAIR = (("blonds",), ("bruns", "châtains"), ("noirs",), ("bleus",), ("roses",), ("violets",), ("verts",),
            ("roux", "rouges"))
_FR_EYES = (("bleus",), ("rouges",), ("verts",), ("marron",), ("violets",), ("jaunes", "dorés"))
_FR_STYLE = (("longs cheveux {c}", "cheveux longs et {c}"), ("cheveux courts et {c}", "cheveux {c} coupés court"),
             ("cheveux {c} en couettes",), ("cheveux {c} en queue de cheval",))

# Expression and accessory phrases: (smile alone, open mouth alone, both, blush) and (intro, hat,
# glasses, ribbon) per language, each a tuple of synonyms. French accessories go without articles
# ("avec chapeau, lunettes et ruban") to keep the longest caption within MAX_WORDS.
_FACE = {"en": (("smiling", "with a smile"), ("open-mouthed", "with her mouth open"),
                ("smiling open-mouthed", "with an open smile"), ("blushing", "flushed")),
         "fr": (("souriante", "qui sourit"), ("bouche ouverte", "la bouche ouverte"),
                ("souriante bouche ouverte",), ("rougissante", "qui rougit"))}
_WEAR = {"en": (("wearing", "with"), ("a hat",), ("glasses",), ("a ribbon", "a bow")),
         "fr": (("avec",), ("chapeau",), ("lunettes",), ("ruban", "nœud"))}
_AND = {"en": "and", "fr": "et"}
# The plain tag list in French (English uses TAG_NAMES itself).
_FR_TAGS = (tuple(f"cheveux {w[0]}" for w in _FR_HAIR)
            + ("cheveux longs", "cheveux courts", "couettes", "queue de cheval")
            + tuple(f"yeux {w[0]}" for w in _FR_EYES)
            + ("sourire", "bouche ouverte", "rougissante", "chapeau", "lunettes", "ruban"))

_SLOTS = {"en": frozenset(("hair", "eyes", "face", "wear", "tags")),
          "fr": frozenset(("hair", "eyes", "hair_bare", "eyes_bare", "face", "wear", "tags"))}
N_PICKS = 8  # synonym choices per caption: hair colour, style, eye colour, smile, open, both, blush, ribbon/intro


@dataclass(frozen=True)
class Template:
    id: str  # e.g. "en-03"
    lang: str  # "en" | "fr"
    text: str  # the frame: literal words and {slot} fields

    def __post_init__(self) -> None:
        # Checked at import: a frame that forgets a slot would silently drop tags from captions.
        if self.lang not in LANGS:
            raise ValueError(f"template {self.id}: unknown language {self.lang!r}")
        slots = set(self.slots)
        if not slots <= _SLOTS[self.lang]:
            raise ValueError(f"template {self.id}: unknown slots {sorted(slots - _SLOTS[self.lang])}")
        complete = slots == {"tags"} or ({"face", "wear"} <= slots and bool(slots & {"hair", "hair_bare"})
                                         and bool(slots & {"eyes", "eyes_bare"}))
        if not complete:
            raise ValueError(f"template {self.id}: does not state every tag ({sorted(slots)})")

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None)


def _t(n: int, lang: str, text: str) -> Template:
    return Template(f"{lang}-{n:02d}", lang, text)


TEMPLATES: tuple[Template, ...] = (
    _t(0, "en", "a girl with {hair} and {eyes}{face}{wear}"),
    _t(1, "en", "a girl with {eyes} and {hair}{face}{wear}"),
    _t(2, "en", "{hair} and {eyes}{face}{wear}"),
    _t(3, "en", "{hair}, {eyes}{face}{wear}"),
    _t(4, "en", "she has {hair} and {eyes}{face}{wear}"),
    _t(5, "en", "anime girl: {hair}, {eyes}{face}{wear}"),
    _t(6, "en", "portrait, {eyes}, {hair}{face}{wear}"),
    _t(7, "en", "{tags}"),
    _t(0, "fr", "une fille {hair} et {eyes}{face}{wear}"),
    _t(1, "fr", "une fille {eyes} et {hair}{face}{wear}"),
    _t(2, "fr", "{hair_bare}, {eyes_bare}{face}{wear}"),
    _t(3, "fr", "elle a les {hair_bare} et les {eyes_bare}{face}{wear}"),
    _t(4, "fr", "portrait : {eyes_bare}, {hair_bare}{face}{wear}"),
    _t(5, "fr", "une héroïne {hair}, {eyes}{face}{wear}"),
    _t(6, "fr", "fille d'anime {hair}, {eyes}{face}{wear}"),
    _t(7, "fr", "{tags}"),
)


def templates(lang: str | None = None) -> tuple[Template, ...]:
    """TEMPLATES of one language (None: all)."""
    return tuple(t for t in TEMPLATES if lang is None or t.lang == lang)


def _pick(options: Sequence[str], i: int) -> str:
    return options[i % len(options)]  # modulo: any non-negative pick is valid for any slot


def _listing(items: list[str], lang: str) -> str:
    """"a", "a and b", "a, b and c" (French "et")."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {_AND[lang]} " + items[-1]


def _slots(t: Tags, lang: str, picks: Sequence[int]) -> dict[str, str]:
    hair_words, eye_words, styles = (_EN_HAIR, _EN_EYES, _EN_STYLE) if lang == "en" else (_FR_HAIR, _FR_EYES, _FR_STYLE)
    hair = _pick(styles[t.hair_style], picks[1]).format(c=_pick(hair_words[t.hair_colour], picks[0]))
    eyes = ("{} eyes" if lang == "en" else "yeux {}").format(_pick(eye_words[t.eye_colour], picks[2]))
    smile, opened, both, blush = _FACE[lang]
    expression = []
    if t.smile or t.open_mouth:  # smile + open mouth is one phrase: "smiling open-mouthed"
        if t.smile and t.open_mouth:
            forms, pick = both, picks[5]
        else:
            forms, pick = (smile, picks[3]) if t.smile else (opened, picks[4])
        expression.append(_pick(forms, pick))
    if t.blush:
        expression.append(_pick(blush, picks[6]))
    intro, hat, glasses, ribbon = _WEAR[lang]
    worn = [_pick(p, picks[7]) for p, on in ((hat, t.hat), (glasses, t.glasses), (ribbon, t.ribbon)) if on]
    names = TAG_NAMES if lang == "en" else _FR_TAGS
    return {"hair": hair if lang == "en" else "aux " + hair, "hair_bare": hair,
            "eyes": eyes if lang == "en" else "aux " + eyes, "eyes_bare": eyes,
            "face": ", " + _listing(expression, lang) if expression else "",
            "wear": f", {_pick(intro, picks[7])} {_listing(worn, lang)}" if worn else "",
            "tags": ", ".join(names[i] for i in tag_indices(t))}


def render(template: Template, tags: Tags, picks: Sequence[int] = (0,) * N_PICKS) -> str:
    """The caption of `template` for `tags` with explicit synonym choices (N_PICKS indices, each
    taken modulo the number of synonyms of its slot)."""
    return template.text.format_map(_slots(tags, template.lang, picks))


def caption(template: Template, tags: Tags, rng: random.Random) -> str:
    """A caption stating every tag, synonyms drawn from `rng` (the same draws whatever the frame)."""
    return render(template, tags, [rng.randrange(6) for _ in range(N_PICKS)])


def describe(tags: Tags) -> str:
    """Canonical English, no synonyms: "a girl with long blonde hair and blue eyes, smiling"."""
    return render(TEMPLATES[0], tags)
