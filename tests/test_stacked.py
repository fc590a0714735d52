"""Stacked Fashion-MNIST (data/stacked.py) and its mode count (metrics/stacked_modes.py)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import stacked
from gankit.data.base import TensorData
from gankit.errors import UserError
from gankit.metrics import provenance
from gankit.metrics import stacked_modes as sm
from gankit.metrics.base import EvalContext, get_metric
from gankit.metrics.features import FeatureNet
from gankit.registry import DATASETS
from tests.conftest import FASHION_DIR
from tests.test_data_images import write_idx

N_SOURCE = 20


def write_garments(d: Path) -> tuple[np.ndarray, np.ndarray]:
    """Tiny Fashion-MNIST IDX files: image i is flat grey 10 + 20 * y_i with a few noisy pixels, so
    every image is distinct and its class can be read back from its mean brightness."""
    rng = np.random.default_rng(0)
    y = (np.arange(N_SOURCE) % 10).astype(np.uint8)
    x = np.repeat((10 + 20 * y).astype(np.uint8)[:, None, None], 28, 1).repeat(28, 2)
    x[:, 0, :4] = rng.integers(0, 256, (N_SOURCE, 4), dtype=np.uint8)  # distinct images, same mean class
    for prefix in ("train", "t10k"):
        write_idx(d / f"{prefix}-images-idx3-ubyte.gz", x, gz=True)
        write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", y, gz=True)
    return x, y


def load(d: Path, **kw: object) -> TensorData:
    return DATASETS.get("stacked-fashion")(DataConfig(name="stacked-fashion", path=str(d), **kw))


def brightness_classifier() -> FeatureNet:
    """A stand-in for the domain classifier of `write_garments` images: class = round((pixel - 10) / 20)."""
    centres = torch.tensor([(10 + 20 * c) / 127.5 - 1 for c in range(10)])

    def classify(x: torch.Tensor) -> torch.Tensor:
        mean = x.float().mean((1, 2, 3))
        return -(mean[:, None] - centres[None]).abs()

    return FeatureNet("brightness", "0" * 64, embed=classify, classify=classify, input_shape=(1, 28, 28))


# ---------------------------------------------------------------- the dataset

def test_stacked_fields_and_labels_follow_the_channels(tmp_path: Path) -> None:
    x_src, y_src = write_garments(tmp_path)
    d = load(tmp_path)
    x, y = d.fields["x"], d.y
    assert x.shape == (N_SOURCE, 3, 28, 28) and x.dtype == torch.uint8  # one stack per source image
    assert y.dtype == torch.int64 and d.num_classes == 1000 and len(d.class_names) == 1000
    assert d.class_names[100 * 7 + 10 * 8 + 4] == "Sneaker|Bag|Coat"
    flat = torch.from_numpy(x_src).flatten(1)
    for row in range(len(d)):
        digits = [int(y[row]) // 100, int(y[row]) // 10 % 10, int(y[row]) % 10]
        for k in range(3):
            source = int((flat == x[row, k].flatten()).all(1).nonzero().flatten()[0])
            assert y_src[source] == digits[k]
    assert torch.equal(d.y, stacked.mode_ids(sm.channel_classes(d.x, brightness_classifier())))


def test_stacked_is_the_same_on_every_load_and_limit_keeps_a_prefix(tmp_path: Path) -> None:
    write_garments(tmp_path)
    a, b = load(tmp_path), load(tmp_path)
    assert torch.equal(a.fields["x"], b.fields["x"]) and torch.equal(a.y, b.y)
    big, small = load(tmp_path, limit=3 * N_SOURCE), load(tmp_path, limit=5)
    assert len(big) == 3 * N_SOURCE  # more stacks than source images: drawn with replacement
    assert torch.equal(small.fields["x"], big.fields["x"][:5]) and torch.equal(small.y, big.y[:5])
    assert torch.equal(stacked.draw_stacks(7, 50), stacked.draw_stacks(7, 50))


def test_stacked_resolution_channels_and_split(tmp_path: Path) -> None:
    write_garments(tmp_path)
    native = load(tmp_path, split="test")
    d = load(tmp_path, split="test", resolution=32, channels=3)
    assert d.fields["x"].shape == (N_SOURCE, 3, 32, 32) and d.fields["x"].dtype == torch.float32
    assert torch.equal(d.y, native.y)
    # resized channels still classify as their labels (the metric resizes them back to 28)
    assert torch.equal(d.y, stacked.mode_ids(sm.channel_classes(d.x, brightness_classifier())))
    with pytest.raises(UserError, match="data.channels must be 0 or 3"):
        load(tmp_path, channels=1)
    with pytest.raises(UserError, match="has split"):
        load(tmp_path, split="valid")
    with pytest.raises(UserError, match="missing"):
        load(tmp_path / "nowhere")


# ---------------------------------------------------------------- the metric's formula

def test_every_mode_once_is_1000_modes_and_kl_0() -> None:
    all_modes = torch.stack([torch.arange(1000) // 100, torch.arange(1000) // 10 % 10, torch.arange(1000) % 10], 1)
    out = sm.stacked_modes(all_modes)
    assert out["modes"] == 1000 and out["n_modes"] == 1000 and out["n_samples"] == 1000
    assert out["kl"] == pytest.approx(0.0, abs=1e-12)
    assert sm.stacked_modes(all_modes.repeat(26, 1))["kl"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_is_1_mode_and_kl_log_1000() -> None:
    one = torch.tensor([[7, 8, 4]]).repeat(26_000, 1)
    out = sm.stacked_modes(one)
    assert out["modes"] == 1 and out["kl"] == pytest.approx(math.log(1000), rel=1e-12)
    two = torch.tensor([[7, 8, 4], [0, 0, 0]]).repeat(50, 1)  # two modes, half each: log(1000 / 2)
    assert sm.stacked_modes(two)["kl"] == pytest.approx(math.log(500), rel=1e-12)


def test_logits_give_the_classes_argmax_and_bad_input_is_refused() -> None:
    logits = torch.randn(64, 3, 10, generator=torch.Generator().manual_seed(0))
    assert sm.stacked_modes(logits) == sm.stacked_modes(logits.argmax(-1))
    with pytest.raises(ValueError, match="0..9"):
        sm.stacked_modes(torch.tensor([[0, 10, 0]]))
    with pytest.raises(ValueError, match="expected"):
        sm.stacked_modes(torch.zeros(4, 2, dtype=torch.int64))
    with pytest.raises(UserError, match="3-channel"):
        sm.channel_classes(torch.zeros(2, 1, 28, 28), brightness_classifier())
    assert math.isnan(sm.stacked_modes(torch.zeros(0, 3, dtype=torch.int64))["kl"])


# ---------------------------------------------------------------- the registered metric

def test_registered_metric_scores_fake_and_reports_the_real_value(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_garments(tmp_path)
    seen: list[str] = []
    monkeypatch.setattr(sm, "fashion_classifier", lambda path="": seen.append(path) or brightness_classifier())
    real = load(tmp_path, split="test", limit=200)
    one_mode = real.x[:1].repeat(50, 1, 1, 1)
    ctx = EvalContext(fake=one_mode, real=real.x, real_name="stacked-fashion:test",
                      data_cfg=DataConfig(name="stacked-fashion", path=str(tmp_path)))
    metric = get_metric("stacked_modes")
    assert metric.kind == "images" and metric.missing({"reference", "feature_net", "classifier"}) == [sm.NEED]
    assert not metric.missing(ctx.available()) and metric.n_samples == sm.N_SAMPLES
    scores = {s.key: s for s in metric.evaluate(ctx)}
    assert seen == [str(tmp_path)]
    assert scores["stacked_modes"].value == 1 and scores["stacked_kl"].value == pytest.approx(math.log(1000))
    extra = scores["stacked_modes"].extra
    assert extra["real_data_modes"] == len(set(real.y.tolist())) and extra["real_data_n"] == 200
    assert "26000" in extra["note"].replace(",", "") and "PacGAN" in extra["protocol"]
    # the conformance suite's checks (tests/test_metrics_sanity.py), on data with the structure it needs
    assert metric.description
    for s in scores.values():
        assert isinstance(s.value, (int, float)) and math.isfinite(s.value)
        rec = provenance.record("stacked_modes", s, ctx)
        for field in ("metric", "feature_net", "weights_sha256", "n_fake", "n_real", "real", "seed", "gankit_version"):
            assert field in rec, field
    assert [s.value for s in metric.evaluate(ctx)] == [s.value for s in scores.values()]


# ---------------------------------------------------------------- real data

@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_DIR} "
                    "(apt-get install dataset-fashion-mnist)")
def test_real_stacked_test_images_cover_the_1000_modes() -> None:
    # Measured: 1000 modes, KL 0.0213 (true labels: 1000, 0.0205; a uniform multinomial at this N
    # leaves ~(1000-1)/(2*26000) = 0.019 from sampling alone); 76.1% of stacks get all three
    # garments right with the shipped classifier (91.1% per garment).
    d = DATASETS.get("stacked-fashion")(DataConfig(name="stacked-fashion", split="test", limit=sm.N_SAMPLES))
    net = sm.fashion_classifier()
    classes = sm.channel_classes(d.x, net)
    out = sm.stacked_modes(classes)
    assert out["n_samples"] == 26_000
    assert out["modes"] >= 995, out
    assert out["kl"] < 0.04, out
    assert float((stacked.mode_ids(classes) == d.y).double().mean()) > 0.7


def test_the_stacked_domain_classifier_is_the_garment_one_per_channel(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No 1000-way classifier is trained: the garment classifier reads each channel, and the stack's
    logits are the sums of the channels' log-probabilities (argmax = the triple of argmaxes)."""
    from gankit.metrics import features
    from gankit.metrics import stacked_classifier as sc

    garment = brightness_classifier()
    asked: list[str] = []
    monkeypatch.setattr(sc, "domain_classifier", lambda cfg: asked.append(cfg.name) or garment)
    net = features.domain_classifier(DataConfig(name="stacked-fashion", path=str(tmp_path)))
    assert asked == ["fashion-mnist"] and net.input_shape == (3, 28, 28)
    x = torch.rand(16, 3, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    logits = net.logits(x)
    assert logits.shape == (16, 1000)
    assert torch.equal(logits.argmax(1), stacked.mode_ids(sm.channel_classes(x, garment)))
    assert torch.allclose(logits.exp().sum(1), torch.ones(16), atol=1e-4)  # a product of three distributions
    assert net.features(x).shape == (16, 3 * garment.features(x[:, :1]).shape[1])
    assert net.sha256 != garment.sha256 and "test_accuracy_per_garment" in net.info
