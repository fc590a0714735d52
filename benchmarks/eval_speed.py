"""Evaluation on this CPU: the domain classifier, FID 10k vs 10k, the other metrics, the toy metrics,
and the sanity evidence (FID(X, X), the train/test floor, FID under growing corruption).

    .venv/bin/python benchmarks/eval_speed.py [--threads 2] [--n 10000] [--retrain]

--retrain trains the Fashion-MNIST classifier in a fresh temporary cache (to time the training
even when it is already cached); without it the user cache ($GANKIT_CACHE or ~/.cache/gankit)
is used, and trained into if empty. Prints Markdown tables ready for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time

import torch

import gankit  # noqa: F401  (registration)
from gankit.config import DataConfig
from gankit.data.base import Mixture
from gankit.data.toy import ring_means, sample_mixture
from gankit.metrics import features as feats
from gankit.metrics.classifier_score import classifier_score
from gankit.metrics.corruptions import CORRUPTIONS
from gankit.metrics.fid import fid_from_features
from gankit.metrics.kid import kid
from gankit.metrics.modes import score_mixture
from gankit.metrics.prdc import prdc
from gankit.metrics.wasserstein import exact_w2, sliced_w2

FASHION = DataConfig(name="fashion-mnist")


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def classifier(retrain: bool) -> feats.FeatureNet:
    if retrain:
        os.environ["GANKIT_CACHE"] = tempfile.mkdtemp(prefix="gankit-cache-")
    net, first = timed(feats.domain_classifier, FASHION)
    feats._NET_MEMO.clear()  # the second call must go to the disk cache, as a new process would
    _, second = timed(feats.domain_classifier, FASHION)
    info = net.info
    print("\n| domain classifier (Fashion-MNIST) | value |\n|---|---|")
    print(f"| test accuracy ({info['test_split']}, 10,000 images) | {100 * info['test_accuracy']:.2f}% |")
    print(f"| training time (recorded when trained) | {info['train_seconds']:.0f} s |")
    print(f"| first call this process (train or load, incl. data hashing) | {first:.1f} s |")
    print(f"| second call (from the disk cache) | {second:.1f} s |")
    print(f"| weights sha256 | `{net.sha256[:16]}...` |")
    return net


def image_metrics(net: feats.FeatureNet, n: int) -> None:
    test = feats.load_split(FASHION, "test")
    train = feats.load_split(FASHION, "train")
    real, fake_x = test.x[:n], train.x[-n:]
    (f_real, f_fake), t_feat = timed(lambda: (net.features(real), net.features(fake_x)))
    fid_value, t_fid = timed(fid_from_features, f_fake, f_real)
    (_, _), t_kid = timed(kid, f_fake, f_real)
    _, t_prdc = timed(prdc, f_fake, f_real)
    logits, t_logits = timed(net.logits, fake_x)
    (cs, _), t_cs = timed(classifier_score, logits)
    print(f"\n| {n:,} vs {n:,} Fashion-MNIST images, domain-classifier features | seconds |\n|---|---|")
    print(f"| features of both sets (2 x {n:,} images) | {t_feat:.2f} |")
    print(f"| FID from features (float64, eigh) | {t_fid:.3f} |")
    print(f"| **FID total (features + distance)** | **{t_feat + t_fid:.2f}** |")
    print(f"| KID (100 subsets of 1,000) | {t_kid:.2f} |")
    print(f"| PRDC (k=5) | {t_prdc:.2f} |")
    print(f"| classifier score (logits + formula) | {t_logits + t_cs:.2f} |")
    print("\n| sanity check | FID |\n|---|---|")
    print(f"| FID(X, X), X = test features | {fid_from_features(f_real, f_real):.2e} |")
    print(f"| floor: last {n:,} train vs {n:,} test images | {fid_value:.3f} |")
    print(f"| classifier score of the train images (reference value) | {cs:.3f} |")
    print("\n| corruption of the train images (vs test) | " + " | ".join(f"level {i + 1}" for i in range(5)) + " |")
    print("|---|" + "---|" * 5)
    for name, (fn, levels) in CORRUPTIONS.items():
        vals = [fid_from_features(net.features(fn(fake_x, lv, torch.Generator().manual_seed(0))), f_real)
                for lv in levels]
        mono = all(a < b for a, b in itertools.pairwise(vals))
        cells = " | ".join(f"{v:.2f} ({lv:g})" for v, lv in zip(vals, levels))
        print(f"| {name} {'(monotone)' if mono else '(NOT monotone)'} | {cells} |")


def toy_metrics() -> None:
    mix = Mixture(ring_means(8, 1.0), 0.01)
    fake = sample_mixture(mix, 2500, torch.Generator().manual_seed(1))
    real = sample_mixture(mix, 2500, torch.Generator().manual_seed(2))
    _, t_modes = timed(score_mixture, fake, mix)
    _, t_exact = timed(exact_w2, fake, real)
    _, t_sliced = timed(sliced_w2, fake, real)
    print("\n| toy metric, 2,500 ring8 points | seconds |\n|---|---|")
    print(f"| modes + high quality + reverse KL | {t_modes:.4f} |")
    print(f"| exact W2 (optimal assignment, scipy) | {t_exact:.2f} |")
    print(f"| sliced W2 (256 directions) | {t_sliced:.4f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--retrain", action="store_true", help="time the classifier training in a fresh cache")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f} at start")
    net = classifier(args.retrain)
    image_metrics(net, args.n)
    toy_metrics()


if __name__ == "__main__":
    main()
