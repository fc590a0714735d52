"""The `shapes` dataset: deterministic drawing, ground truth that agrees with the pixels, held-out
splits that are really held out, and the cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import shapes
from gankit.data.shapes_draw import BACKGROUND_RGB, COLOUR_RGB
from gankit.data.shapes_text import MAX_WORDS, templates
from gankit.data.words import decode_ids, encode, tokenize
from gankit.errors import UserError
from gankit.registry import DATASETS, PROMPT_SETS

N = 300


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


def load(**kw) -> object:
    return DATASETS.get("shapes")(DataConfig(name="shapes", n_samples=N, **kw))


def test_fields_and_specs() -> None:
    d = load()
    assert d.fields["x"].shape == (N, 3, 32, 32) and d.fields["x"].dtype == torch.uint8
    assert d.fields["label_map"].shape == (N, 32, 32)
    assert d.fields["caption"].shape == (N, shapes.TRAIN_CAPTIONS, MAX_WORDS)
    for name, values in shapes.ATTRIBUTES.items():
        assert d.specs[name].names == values and 0 <= int(d.fields[name].min()) <= int(d.fields[name].max()) < len(values)
    assert d.specs["caption"].kind == "tokens" and d.specs["caption"].names == shapes.vocabulary()
    assert d.texts["caption"].shape == (N, shapes.TRAIN_CAPTIONS)


def test_label_map_agrees_with_pixels() -> None:
    d = load()
    x, maps = d.fields["x"].numpy().astype(int), d.fields["label_map"].numpy()
    for i in range(40):
        obj = maps[i] > 0
        assert obj.any() and set(np.unique(maps[i])) == {0, int(d.fields["shape"][i]) + 1}
        colour = np.array(COLOUR_RGB[int(d.fields["colour"][i])])
        bg = np.array(BACKGROUND_RGB[int(d.fields["background"][i])])
        pix = x[i].transpose(1, 2, 0)
        # a pixel the map gives to the object is at least half covered by it: nearer its colour than
        # the background's (up to the tints); the rest is background, and one pixel is the pure colour
        near_obj = np.abs(pix - colour).sum(-1) <= np.abs(pix - bg).sum(-1) + 40
        assert near_obj[obj].all() and not near_obj[~obj & (np.abs(pix - bg).max(-1) <= 10)].any()
        assert np.abs(pix[obj] - colour).max(1).min() <= 14
        assert np.median(np.abs(pix[~obj] - bg).max(1)) <= 10


def test_position_and_size_are_where_the_labels_say() -> None:
    d = load()
    maps = d.fields["label_map"].numpy()
    areas = {0: [], 1: [], 2: []}
    for i in range(N):
        ys, xs = np.nonzero(maps[i])
        row, col = divmod(int(d.fields["position"][i]), 3)
        assert int(ys.mean() * 3 // 32) == row and int(xs.mean() * 3 // 32) == col
        areas[int(d.fields["size"][i])].append(len(ys))
    assert np.mean(areas[0]) < np.mean(areas[1]) < np.mean(areas[2])


def test_deterministic_and_cached(tmp_path) -> None:
    a = load()
    files = list((tmp_path / "cache" / "data").iterdir())
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    b = load()
    assert files[0].stat().st_mtime_ns == stamp  # read back, not drawn again
    assert torch.equal(a.fields["x"], b.fields["x"]) and torch.equal(a.fields["caption"], b.fields["caption"])
    fresh = shapes.generate("train", 20, 32, 1)
    assert np.array_equal(fresh["x"], a.fields["x"][:20].numpy())


def test_held_out_combinations_never_in_train() -> None:
    hidden = shapes.held_out_combos()
    assert len(hidden) == shapes.N_COMBOS // 10
    d = load()
    combos = {shapes.combo(*(int(d.fields[k][i]) for k in shapes.ATTRIBUTES)) for i in range(N)}
    assert not combos & hidden
    t = load(split="test")
    flags = t.fields["combo_held_out"]
    for i in range(N):
        c = shapes.combo(*(int(t.fields[k][i]) for k in shapes.ATTRIBUTES))
        assert bool(flags[i]) == (c in hidden)
    assert 0.03 < float(flags.float().mean()) < 0.2


def test_test_split_prompt_sets_use_their_templates() -> None:
    t = load(split="test")
    sets = {p.name: p for p in PROMPT_SETS.get("shapes")(t)}
    assert list(sets) == ["training captions", "unseen paraphrases", "French prompts", "held-out combinations"]
    train_frames = {tokenize(tp.text.split("{")[0])[0] if tokenize(tp.text.split("{")[0]) else "" for tp in templates(held_out=False)}
    assert train_frames  # the templates parse
    assert sets["held-out combinations"].rows.tolist() == t.fields["combo_held_out"].nonzero().flatten().tolist()
    assert sets["training captions"].asked == ("shape", "colour", "size", "position")
    fr = " ".join(str(s) for s in t.texts["caption_fr"][:30, 0])
    assert any(w in fr.split() for w in ("un", "une", "l", "il", "voici", "on"))
    # paraphrase frames have words the training vocabulary lacks: the encoder sees them as unknown
    ids = t.fields["caption_paraphrase"][:, 0]
    assert (ids == 1).any()


def test_resolution_objects_and_bad_values() -> None:
    big = load(resolution=64)
    assert big.fields["x"].shape[-1] == 64 and big.fields["label_map"].shape[-1] == 64
    two = load(objects=2)
    assert "shape2" in two.fields
    assert bool((two.fields["position"] != two.fields["position2"]).all())
    assert " and " in str(two.texts["caption"][0, 0]) or " et " in str(two.texts["caption"][0, 0])
    with pytest.raises(UserError, match="32 or 64"):
        load(resolution=48)
    with pytest.raises(UserError, match="splits train, test"):
        DATASETS.get("shapes")(DataConfig(name="shapes", split="valid", n_samples=N))


def test_words_round_trip() -> None:
    vocab = shapes.vocabulary()
    ids = encode(["Un petit rond rouge, en haut à gauche!"], vocab, MAX_WORDS)
    assert decode_ids(ids[0].tolist(), vocab) == "un petit rond rouge en haut à gauche"
    assert encode(["a zebra"], vocab, 4)[0].tolist()[:2] == [vocab.index("a"), 1]


def _folder(tmp_path, n: int = 4):
    from PIL import Image

    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(n):
        Image.new("RGB", (12, 12), (40 * i, 0, 0)).save(root / f"{i}.png")
    return root


def test_folder_with_captions_and_tags(tmp_path) -> None:
    import json as _json

    root = _folder(tmp_path)
    (root / "captions.jsonl").write_text("\n".join(_json.dumps({"file": f"{i}.png", "captions": [f"a red square {i}", "rouge"]})
                                                   for i in range(4)) + "\n", encoding="utf-8")
    (root / "tags.csv").write_text("file,tags\n" + "".join(f'{i}.png,"red,{"big" if i % 2 else "small"}"\n'
                                                          for i in range(4)))
    d = DATASETS.get("folder")(DataConfig(name="folder", path=str(root), resolution=8))
    assert d.specs["caption"].kind == "tokens" and d.fields["caption"].shape == (4, 2, 4)
    assert d.specs["tags"].names == ("big", "red", "small") and d.fields["tags"][1].tolist() == [1, 1, 0]
    assert str(d.texts["caption"][2, 0]) == "a red square 2"


@pytest.mark.parametrize("captions, message", [
    (['{"file": "0.png", "captions": ["a cat"]}'], "image 1.png has no entry"),
    (['{"file": "%d.png", "caption": "a cat"}' % i for i in range(4)] + ['{"file": "9.png", "caption": "x"}'],
     "entry 9.png names no image file"),
    (['{"file": "%d.png", "caption": "%s"}' % (i, "" if i == 2 else "a cat") for i in range(4)], "2.png has an empty caption"),
    (["not json"], "line 1 is not JSON"),
])
def test_folder_caption_mismatches_are_one_line(tmp_path, capsys, captions, message) -> None:
    from gankit.cli import main

    root = _folder(tmp_path)
    (root / "captions.jsonl").write_text("\n".join(captions) + "\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["train", "folder-dcgan", "--steps", "1", "--set", f"data.path={root}", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_folder_tags_csv_errors(tmp_path) -> None:
    from gankit.data.folder_conditions import read_conditions

    root = _folder(tmp_path, 2)
    files = sorted(root.glob("*.png"))
    (root / "tags.csv").write_bytes(b"file,tags\n0.png,\xff\xfe\n1.png,a\n")
    with pytest.raises(UserError, match="not UTF-8"):
        read_conditions(root, files)
    (root / "tags.csv").write_text("file,tags\n0.png,a\n1.png,b\n0.png,c\n")
    with pytest.raises(UserError, match="0.png is listed twice"):
        read_conditions(root, files)
    (root / "tags.csv").write_text("name,labels\n0.png,a\n")
    with pytest.raises(UserError, match="header `file,tags`"):
        read_conditions(root, files)


def test_two_object_captions_are_not_cut() -> None:
    d = load(objects=2)
    assert d.fields["caption"].shape[-1] == 2 * MAX_WORDS
    lengths = (d.fields["caption"] > 0).sum(-1)
    words = [len(tokenize(str(t))) for t in d.texts["caption"].reshape(-1)]
    assert lengths.reshape(-1).tolist() == words


def test_two_objects_in_reading_order_and_bom_files(tmp_path) -> None:
    two = load(objects=2)
    assert bool((two.fields["position"] < two.fields["position2"]).all())
    from gankit.data.folder_conditions import read_conditions

    root = _folder(tmp_path, 2)
    (root / "tags.csv").write_bytes("\ufefffile,tags\n0.png,a\n1.png,b\n".encode("utf-8"))
    assert read_conditions(root, sorted(root.glob("*.png"))).tags == {"0.png": ["a"], "1.png": ["b"]}


def test_damaged_cache_is_drawn_again(tmp_path) -> None:
    load()
    (cache,) = list((tmp_path / "cache" / "data").iterdir())
    cache.write_bytes(cache.read_bytes()[:5000])
    assert load().fields["x"].shape == (N, 3, 32, 32)


def test_options_a_dataset_does_not_read_are_refused() -> None:
    from gankit import config as C
    from gankit.train.loop import load_data

    with pytest.raises(UserError, match="has no captions to encode"):
        load_data(C.build({"data": {"name": "ring8", "text_encoder": "minilm"}}))
    with pytest.raises(UserError, match="data.objects is for the shapes dataset"):
        load_data(C.build({"data": {"name": "ring8", "objects": 2}}))
