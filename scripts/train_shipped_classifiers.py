"""Train the domain classifiers that ship with gankit, and record them in their manifest.

    .venv/bin/python scripts/train_shipped_classifiers.py [fashion-mnist digits]

Each is the default `ClassifierRecipe` (metrics/features.py: one thread, seed 0, one-cycle Adam) on the
dataset's train split, exactly what `gankit evaluate` would train and cache on first use. The
safetensors file (weights + metadata: recipe, data hash, test accuracy, training time) is copied into
src/gankit/classifiers/ and its SHA-256 recorded in MANIFEST.json, which gankit checks on every load.
Shipping the weights makes a domain FID the same on every machine: trained on another CPU the weights
differ in their last bits (shared/MACHINE-FACTS.md), and so would every score computed with them.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from gankit.config import DataConfig
from gankit.files import atomic_write, sha256_file
from gankit.metrics import classifier_files, features

DEST = classifier_files.SHIPPED_DIR


def main(names: list[str]) -> None:
    manifest_path = DEST / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for name in names:
        features._NET_MEMO.clear()
        net = features.domain_classifier(DataConfig(name=name), shipped=False)  # train (or take this machine's cache)
        source = Path(net.info["cache_file"])
        DEST.mkdir(exist_ok=True)
        shutil.copyfile(source, DEST / source.name)
        manifest[source.name] = {"file_sha256": sha256_file(DEST / source.name), "weights_sha256": net.sha256,
                                 "dataset": name, "test_accuracy": net.info["test_accuracy"],
                                 "test_split": net.info["test_split"], "recipe": net.info["recipe"]}
        print(f"{name}: {source.name} ({100 * net.info['test_accuracy']:.2f}% on {net.info['test_split']})")
    atomic_write(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


if __name__ == "__main__":
    main(sys.argv[1:] or ["fashion-mnist", "digits"])
