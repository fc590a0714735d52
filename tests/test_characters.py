"""The `characters` dataset: fields and specs, tags that agree with the labels, captions that state
every tag (checked against word lists kept here, not the module's lexicon), the cache, and pictures
in which each tag changes the pixels where it should and nowhere else."""
from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
import torch

import gankit.data.characters  # noqa: F401  (registers the dataset until data/__init__ imports it)
from gankit.config import DataConfig
from gankit.data import characters
from gankit.data.characters_draw import (EYE_RGB, EYES, FACE_X, FACE_Y, HAIR_RGB, HAT_RGB, RIBBON_RGB, Character, _far,
                                          draw, jittered, regions)
from gankit.data.characters_text import (BINARY_TAGS, EYE_COLOURS, HAIR_COLOURS, HAIR_STYLES, MAX_WORDS, N_PICKS,
                                         TAG_NAMES, TEMPLATES, Tags, render)
from gankit.data.words import tokenize
from gankit.errors import UserError
from gankit.registry import DATASETS, PROMPT_SETS

N = 200
# Words that state a tag, in either language (every synonym), mapped to what they state.
COLOUR_WORDS = {"blonde": "blonde", "blond": "blonde", "blonds": "blonde", "brown": "brown", "chestnut": "brown",
                "hazel": "brown", "bruns": "brown", "châtains": "brown", "marron": "brown", "black": "black",
                "raven": "black", "noirs": "black", "blue": "blue", "bleus": "blue", "pink": "pink", "roses": "pink",
                "purple": "purple", "violet": "purple", "violets": "purple", "green": "green", "emerald": "green",
                "verts": "green", "red": "red", "crimson": "red", "roux": "red", "rouges": "red", "yellow": "yellow",
                "golden": "yellow", "amber": "yellow", "jaunes": "yellow", "dorés": "yellow"}
STYLE_WORDS = {"long": "long", "longs": "long", "short": "short", "bob": "short", "courts": "short", "court": "short",
               "twin": "twin tails", "twintails": "twin tails", "couettes": "twin tails", "ponytail": "ponytail",
               "queue": "ponytail"}
BINARY_WORDS = {"smiling": "smile", "smile": "smile", "souriante": "smile", "sourit": "smile", "sourire": "smile",
                "open": "open_mouth", "bouche": "open_mouth", "blushing": "blush", "flushed": "blush", "blush": "blush",
                "rougissante": "blush", "rougit": "blush", "hat": "hat", "chapeau": "hat", "glasses": "glasses",
                "lunettes": "glasses", "ribbon": "ribbon", "bow": "ribbon", "ruban": "ribbon", "nœud": "ribbon"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


def load(**kw) -> object:
    return DATASETS.get("characters")(DataConfig(name="characters", n_samples=N, **kw))


def tags_of(d: object, i: int) -> Tags:
    return Tags(*(int(d.fields[k][i]) for k in characters.ATTRIBUTES))


def test_fields_and_specs() -> None:
    d = load()
    assert d.fields["x"].shape == (N, 3, 64, 64) and d.fields["x"].dtype == torch.uint8  # 0 -> 64 px
    assert d.specs["x"].kind == "image" and d.specs["x"].shape == (3, 64, 64)
    assert list(characters.ATTRIBUTES) == ["hair_colour", "hair_style", "eye_colour", *BINARY_TAGS]
    for name, values in [*characters.ATTRIBUTES.items(), ("background", characters.BACKGROUNDS)]:
        f, s = d.fields[name], d.specs[name]
        assert f.shape == (N,) and f.dtype == torch.int64 and s.kind == "label" and s.names == values
        assert s.classes == len(values) and 0 <= int(f.min()) and int(f.max()) < len(values)
    assert (len(HAIR_COLOURS), len(HAIR_STYLES), len(EYE_COLOURS), len(characters.BACKGROUNDS)) == (8, 4, 6, 4)
    assert d.fields["tags"].shape == (N, 24) and d.fields["tags"].dtype == torch.uint8
    assert d.specs["tags"].kind == "multi_hot" and d.specs["tags"].names == TAG_NAMES and d.specs["tags"].classes == 24
    assert TAG_NAMES[0] == "blonde hair" and TAG_NAMES[8:12] == ("long hair", "short hair", "twin tails", "ponytail")
    assert TAG_NAMES[-6:] == ("smile", "open mouth", "blush", "hat", "glasses", "ribbon")
    assert d.fields["caption"].shape == (N, characters.CAPTIONS, MAX_WORDS) and d.fields["caption"].dtype == torch.int64
    assert d.specs["caption"].kind == "tokens" and d.specs["caption"].names == characters.vocabulary()
    assert d.texts["caption"].shape == (N, characters.CAPTIONS)
    assert len(load(limit=50)) == 50


def test_tags_agree_with_labels() -> None:
    d = load()
    tags = d.fields["tags"].numpy()
    groups = {"hair_colour": (0, 8), "hair_style": (8, 12), "eye_colour": (12, 18)}
    for name, (a, b) in groups.items():
        assert (tags[:, a:b].sum(1) == 1).all()  # one-hot
        assert np.array_equal(tags[:, a:b].argmax(1), d.fields[name].numpy())
    for k, name in enumerate(BINARY_TAGS):
        assert np.array_equal(tags[:, 18 + k], d.fields[name].numpy())
    # sampled independently: every value turns up, hat and glasses rarer than the other yes/no tags
    big = characters.generate("train", 2000, 32)["labels"]
    for a, values in enumerate(characters.ATTRIBUTES.values()):
        assert set(np.unique(big[:, a])) == set(range(len(values)))
    rates = big[:, 3:9].mean(0)
    assert all(abs(rates[k] - characters.P_YES[b]) < 0.05 for k, b in enumerate(BINARY_TAGS))


def test_deterministic_and_cached(tmp_path) -> None:
    a = load()
    files = list((tmp_path / "cache" / "data").iterdir())
    assert [f.name for f in files] == [f"characters-v{characters.VERSION}-64px-train-{N}.npz"]
    stamp = files[0].stat().st_mtime_ns
    b = load()
    assert files[0].stat().st_mtime_ns == stamp  # read back, not drawn again
    assert torch.equal(a.fields["x"], b.fields["x"]) and torch.equal(a.fields["caption"], b.fields["caption"])
    fresh = characters.generate("train", 20, 64)
    assert np.array_equal(fresh["x"], a.fields["x"][:20].numpy())
    test = load(split="test")
    assert not torch.equal(test.fields["hair_colour"], a.fields["hair_colour"])  # its own seed


def test_32_px_same_characters_and_bad_values() -> None:
    small, big = load(resolution=32), load()
    assert small.fields["x"].shape == (N, 3, 32, 32) and small.specs["x"].shape == (3, 32, 32)
    assert torch.equal(small.fields["tags"], big.fields["tags"])
    with pytest.raises(UserError, match="drawn at 32 or 64 px"):
        load(resolution=48)
    with pytest.raises(UserError, match="RGB"):
        load(channels=1)
    with pytest.raises(UserError, match="splits train, test"):
        DATASETS.get("characters")(DataConfig(name="characters", split="valid", n_samples=N))


def test_captions_state_every_tag_and_nothing_else() -> None:
    d = load()
    for i in range(N):
        t = tags_of(d, i)
        for k, text in enumerate(d.texts["caption"][i]):
            words = tokenize(str(text))
            assert len(words) <= MAX_WORDS
            colours = {HAIR_COLOURS[t.hair_colour], EYE_COLOURS[t.eye_colour]}
            assert {COLOUR_WORDS[w] for w in words if w in COLOUR_WORDS} == colours, text
            assert {STYLE_WORDS[w] for w in words if w in STYLE_WORDS} == {HAIR_STYLES[t.hair_style]}, text
            present = {b for b in BINARY_TAGS if getattr(t, b)}
            assert {BINARY_WORDS[w] for w in words if w in BINARY_WORDS} == present, text
            english = k == 0 or (k == 2 and "eyes" in words)
            assert ({"eyes"} if english else {"yeux", "cheveux"}) <= set(words), text
    # caption 1 is French, caption 2 either language
    assert sum("cheveux" in str(s) for s in d.texts["caption"][:, 2]) not in (0, N)


def test_vocabulary_covers_every_word() -> None:
    vocab = characters.vocabulary()
    assert vocab[:2] == ("<pad>", "<unk>") and list(vocab[2:]) == sorted(vocab[2:])
    assert set(COLOUR_WORDS) | set(STYLE_WORDS) | set(BINARY_WORDS) <= set(vocab)  # every synonym
    d = load()
    ids = d.fields["caption"]
    assert not (ids == 1).any()  # no unknown word in any caption
    first = ids[0, 0]
    assert " ".join(vocab[j] for j in first.tolist() if j) == " ".join(tokenize(str(d.texts["caption"][0, 0])))


def test_longest_caption_fits_in_max_words() -> None:
    """Each slot's synonym changes only that slot's words, so the longest caption of a frame and tags
    takes the longest synonym of every slot; it must fit in MAX_WORDS and reach it (L is no longer
    than needed)."""
    longest = 0
    for t in TEMPLATES:
        for v in range(len(HAIR_COLOURS)):
            for smile, opened in ((0, 1), (1, 0), (1, 1)):
                tags = Tags(v, v % 4, v % 6, smile, opened, 1, 1, 1, 1)
                base = len(tokenize(render(t, tags)))
                extra = sum(max(len(tokenize(render(t, tags, [p if j == s else 0 for j in range(N_PICKS)]))) - base
                                for p in range(3)) for s in range(N_PICKS))
                longest = max(longest, base + extra)
    assert longest == MAX_WORDS


def test_prompt_sets() -> None:
    t = load(split="test")
    (p,) = PROMPT_SETS.get("characters")(t)
    assert p.name == "test tags" and p.field == "tags" and p.rows.tolist() == list(range(N))
    assert p.asked == ("hair_colour", "hair_style", "eye_colour", "smile", "open_mouth", "blush", "hat", "glasses",
                       "ribbon")


def test_each_tag_changes_pixels_only_in_its_region() -> None:
    rng = random.Random(5)
    for side in (32, 64):
        for _ in range(6):
            base = characters.sample_tags(rng)
            ch = jittered(rng, base, rng.randrange(4))
            for name in BINARY_TAGS:
                pics = [draw(replace(ch, tags=base._replace(**{name: v})), side).astype(int) for v in (0, 1)]
                changed = np.abs(pics[0] - pics[1]).max(0) > 0
                x0, y0, x1, y1 = regions(ch, side)[name]
                inside = np.zeros_like(changed)
                inside[y0:y1, x0:x1] = True
                assert changed.sum() >= 3, (name, side)
                assert not (changed & ~inside).any(), (name, side)


def _near(img: np.ndarray, rgb: tuple[int, ...], tol: int = 40) -> np.ndarray:
    return np.abs(img.transpose(1, 2, 0).astype(int) - np.array(rgb)).sum(-1) <= tol


def test_hair_styles_have_their_silhouettes_and_eyes_their_colour_at_32_px() -> None:
    side, hair = 32, HAIR_RGB[6]  # green: far from skin, shirt and background
    counts = {}
    for style in range(4):
        img = draw(Character(Tags(6, style, 0)), side)
        is_hair = _near(img, hair) | _near(img, tuple(int(c * 0.78) for c in hair))
        below_chin = slice(round((FACE_Y + 0.2) * side), side)  # face units 0.2 and lower (chin: 0.27)
        left, right = slice(0, round((FACE_X - 0.3) * side)), slice(round((FACE_X + 0.3) * side), side)
        above = slice(0, round((FACE_Y - 0.4) * side))
        counts[HAIR_STYLES[style]] = (int(is_hair[below_chin, left].sum()), int(is_hair[below_chin, right].sum()),
                                      int(is_hair[above].sum()))
    assert counts["long"][0] >= 3 and counts["long"][1] >= 3 and counts["long"][2] == 0
    assert counts["twin tails"][0] >= 3 and counts["twin tails"][1] >= 3 and counts["twin tails"][2] == 0
    assert counts["ponytail"][0] == 0 and counts["ponytail"][1] >= 3 and counts["ponytail"][2] >= 3
    assert counts["short"] == (0, 0, 0)
    for eye in range(len(EYE_COLOURS)):
        img = draw(Character(Tags(2, 1, eye)), side)
        for ex, ey in EYES:  # about 3 x 3 px of nearly pure eye colour per eye (less the pupil)
            cx, cy = round((FACE_X + ex) * side), round((FACE_Y + ey) * side)
            assert _near(img, EYE_RGB[eye], 80)[cy - 4:cy + 4, cx - 4:cx + 4].sum() >= 6, EYE_COLOURS[eye]


def test_hats_and_ribbons_contrast_with_every_hair_colour() -> None:
    for hair in HAIR_RGB:
        assert _far(HAT_RGB, hair) and _far(RIBBON_RGB, hair)
