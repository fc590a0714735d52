"""Feature networks and the sanity evidence: the classifier cache, the Inception loader (without
its weights), FID rising with corruption on Fashion-MNIST, and a conformance suite that every
registered metric passes."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch

from gankit.config import DataConfig
from gankit.data.base import Mixture
from gankit.data.toy import ring_means, sample_mixture
from gankit.errors import UserError
from gankit.metrics import features as feats
from gankit.metrics import inception as inc
from gankit.metrics import provenance
from gankit.metrics.base import EvalContext, describe_need, evaluable, get_metric
from gankit.metrics.corruptions import CORRUPTIONS
from gankit.metrics.fid import fid_from_features

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
QUICK = feats.ClassifierRecipe(min_steps=40)  # digits: 40 steps, about a second


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(inc.ENV, raising=False)
    monkeypatch.setattr(feats, "_NET_MEMO", {})  # every test sees only its own cache directory
    return tmp_path / "cache"


def test_classifier_is_cached_and_keyed_by_data_and_recipe(_isolated_cache: Path) -> None:
    said: list[str] = []
    net = feats.domain_classifier(DataConfig(name="digits"), QUICK, log=said.append)
    assert "trained" in said[-1] and net.info["test_accuracy"] > 0.5
    files = sorted((_isolated_cache / "classifiers").glob("*.safetensors"))
    assert len(files) == 1 and len(net.sha256) == 64
    feats._NET_MEMO.clear()
    again = feats.domain_classifier(DataConfig(name="digits"), QUICK, log=said.append)
    assert said[-1].startswith("domain classifier: loaded from cache") and again.sha256 == net.sha256
    x = torch.rand(7, 1, 8, 8) * 2 - 1
    assert torch.equal(net.features(x), again.features(x)) and net.features(x).shape == (7, 128)
    feats.domain_classifier(DataConfig(name="digits"), feats.ClassifierRecipe(min_steps=40, seed=1), log=said.append)
    feats.domain_classifier(DataConfig(name="digits", resolution=16), QUICK, log=said.append)
    assert len(list((_isolated_cache / "classifiers").glob("*.safetensors"))) == 3  # recipe, data: new keys
    with pytest.raises(UserError, match="shape"):
        net.features(torch.zeros(2, 1, 16, 16))


def test_a_damaged_cache_file_is_retrained_not_trusted(_isolated_cache: Path) -> None:
    said: list[str] = []
    feats.domain_classifier(DataConfig(name="digits"), QUICK, log=said.append)
    path = next((_isolated_cache / "classifiers").glob("*.safetensors"))
    path.write_bytes(path.read_bytes()[:100])
    feats._NET_MEMO.clear()
    feats.domain_classifier(DataConfig(name="digits"), QUICK, log=said.append)
    assert any("unreadable" in s for s in said) and "trained" in said[-1]


def test_inception_without_weights_names_the_file_and_never_downloads(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    with pytest.raises(UserError) as err:
        inc.inception()
    message = str(err.value)
    assert "\n" not in message and inc.FILE_NAME in message and "--inception-weights" in message
    assert inc.ENV in message


def test_inception_file_is_checked_and_loaded(tmp_path: Path) -> None:
    path = tmp_path / "random-inception.pth"
    torch.save(inc.FIDInception().state_dict(), path)  # the right keys, not the right weights
    with pytest.raises(UserError, match="not pt_inception"):
        inc.inception(str(path))
    net = inc.inception(str(path), check_hash=False, log=lambda s: None)
    assert net.features(torch.rand(1, 1, 8, 8) * 2 - 1).shape == (1, 2048)
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(UserError, match="does not hold"):
        inc.inception(str(path), check_hash=False, log=lambda s: None)


def test_tf1_bilinear_resize_has_no_half_pixel_offset() -> None:
    x = torch.tensor([[10.0, 20.0], [30.0, 40.0]]).view(1, 1, 2, 2)
    # source coordinate i * 2/4 = 0, .5, 1, 1.5 -> the last column repeats the border (TF 1.x).
    out = inc.resize_tf1(x, 4)[0, 0]
    assert torch.allclose(out[0], torch.tensor([10.0, 15.0, 20.0, 20.0]))
    assert torch.allclose(out[:, 0], torch.tensor([10.0, 20.0, 30.0, 30.0]))


def _context(kind: str) -> EvalContext:
    g = torch.Generator().manual_seed(0)
    if kind == "points":
        mix = Mixture(ring_means(8, 1.0), 0.01)
        return EvalContext(fake=sample_mixture(mix, 300, g), real=sample_mixture(mix, 300, g), real_name="ring8",
                           mixture=mix, fresh_real=lambda n, gen: sample_mixture(mix, n, gen))
    proj = torch.randn(64, 16, generator=g)
    net = feats.FeatureNet(name="test-net", sha256="0" * 64, embed=lambda x: x.flatten(1) @ proj,
                           classify=lambda x: x.flatten(1) @ proj[:, :10], input_shape=(1, 8, 8))
    fake, real = torch.rand(200, 1, 8, 8, generator=g) * 2 - 1, torch.rand(150, 1, 8, 8, generator=g) * 2 - 1
    return EvalContext(fake=fake, real=real, real_name="test:test", seed=3, feature_net=net, classifier=net,
                       conditions={"label": torch.arange(200) % 10}, pairs=fake.flip(0), real_labels=torch.arange(150) % 10, num_classes=10,
                       options={"kid_subsets": 5, "fid_bootstrap": 5})


@pytest.mark.parametrize("name", evaluable())
def test_every_registered_metric_conforms(name: str) -> None:
    metric = get_metric(name)
    ctx = _context("images" if metric.kind == "any" else metric.kind)
    missing = metric.missing(ctx.available())
    if missing:  # e.g. dataset:stacked-fashion: checked on that dataset's structure by its own tests
        pytest.skip(f"{name} needs {describe_need(missing[0])}, which a generic context cannot have")
    scores = metric.evaluate(ctx)
    assert scores and metric.description
    for s in scores:
        assert isinstance(s.value, (int, float)) and (math.isfinite(s.value) or s.key == "reverse_kl")
        rec = provenance.record(name, s, ctx)
        for field in ("metric", "feature_net", "weights_sha256", "n_fake", "n_real", "real", "seed", "gankit_version"):
            assert field in rec, (name, field)
    assert [s.value for s in metric.evaluate(ctx)] == [s.value for s in scores]  # seeded: reproducible


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST is not installed")
def test_fid_rises_monotonically_with_corruption_on_fashion_mnist() -> None:
    # A quick classifier (5,000 images, 1 epoch, ~78% accuracy) is enough to order the corruptions.
    recipe = feats.ClassifierRecipe(epochs=1, min_steps=0, train_limit=5000)
    net = feats.domain_classifier(DataConfig(name="fashion-mnist"), recipe, log=lambda s: None)
    test = feats.load_split(DataConfig(name="fashion-mnist"), "test")
    train = feats.load_split(DataConfig(name="fashion-mnist"), "train")
    reference, clean = net.features(test.x[:1000]), train.x[-1000:]
    floor = fid_from_features(net.features(clean), reference)
    assert fid_from_features(reference, reference) < 1e-9
    for name, (corrupt, levels) in CORRUPTIONS.items():
        fids = [fid_from_features(net.features(corrupt(clean, lv, torch.Generator().manual_seed(0))), reference)
                for lv in levels]
        assert all(a < b for a, b in itertools.pairwise(fids)), (name, fids)
        assert floor < fids[1] and fids[-1] > 5 * floor, (name, floor, fids)


def test_a_folder_without_test_split_holds_out_every_tenth_image(tmp_path: Path) -> None:
    from PIL import Image

    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for i in range(20):
            Image.new("L", (8, 8), 40 * i % 256 if label == "cats" else 255 - i).save(tmp_path / label / f"{i}.png")
    splits = feats.labelled_splits(DataConfig(name="folder", path=str(tmp_path), resolution=8, channels=1))
    assert len(splits.train) == 36 and len(splits.test) == 4 and "every 10th" in splits.test_name
    assert sorted(splits.test.y.tolist()) == [0, 0, 1, 1]  # stratified: each class gives its 10th and 20th
    flat = tmp_path / "flat"  # the same images without class sub-folders: nothing to classify
    flat.mkdir()
    for p in tmp_path.glob("*/*.png"):
        p.rename(flat / f"{p.parent.name}-{p.name}")
    with pytest.raises(UserError, match="no class labels"):
        feats.labelled_splits(DataConfig(name="folder", path=str(flat), resolution=8, channels=1))


def test_target_l1_is_zero_on_the_targets_and_the_mean_offset_otherwise() -> None:
    x = torch.rand(50, 3, 4, 4) * 2 - 1
    l1 = get_metric("target_l1").formula
    assert l1(x, x) == 0.0
    assert l1(x, x + 0.25) == pytest.approx(0.25)
    assert l1(x, -x) == pytest.approx(2 * x.abs().mean().item())


def test_conditional_accuracy_counts_the_samples_classified_as_asked() -> None:
    ctx = _context("images")
    predicted = ctx.logits("fake").argmax(1)
    metric = get_metric("conditional_accuracy")
    for asked, expected in ((predicted, 1.0), ((predicted + 1) % 10, 0.0),
                            (torch.cat([predicted[:50], (predicted[50:] + 1) % 10]), 0.25)):
        ctx.conditions = {"label": asked}
        assert [s.value for s in metric.evaluate(ctx) if s.key == "conditional_accuracy"] == [expected]


def test_a_damaged_shipped_classifier_is_refused(tmp_path: Path, monkeypatch) -> None:
    import shutil

    shipped = tmp_path / "classifiers"
    from gankit.metrics import classifier_files

    shutil.copytree(classifier_files.SHIPPED_DIR, shipped)
    name = next(p.name for p in shipped.glob("digits-*.safetensors"))
    data = bytearray((shipped / name).read_bytes())
    data[-1] ^= 1  # one flipped bit in the weights
    (shipped / name).write_bytes(bytes(data))
    monkeypatch.setattr(classifier_files, "SHIPPED_DIR", shipped)
    feats._NET_MEMO.clear()
    with pytest.raises(UserError, match="does not match its manifest"):
        feats.domain_classifier(DataConfig(name="digits"))
    feats._NET_MEMO.clear()
