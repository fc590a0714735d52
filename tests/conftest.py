"""Tiny seeded CPU configurations shared by the tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gankit  # noqa: F401  (registers every component)
from gankit import config as config_mod
from gankit.config import Config

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def _tiny(values: dict, overrides: dict[str, str], net: dict) -> Config:
    """values + overrides, with `net` as the config of every player the chosen game declares."""
    pairs = config_mod.parse_overrides([f"{k}={v}" for k, v in overrides.items()])
    probe = config_mod.build({k: v for k, v in values.items() if k != "nets"}, pairs)
    nets = {**values.get("nets", {}), **{name: dict(net) for name in probe.nets.players}}
    return config_mod.build({**values, "nets": nets}, pairs)


def tiny_toy(**overrides: str) -> Config:
    """ring8 with small MLPs: a step takes about a millisecond."""
    values = {
        "data": {"name": "ring8", "n_samples": 2000},
        "nets": {"z_dim": 2, "G": {"arch": "mlp", "width": 16, "depth": 2, "norm": "none"}},
        "train": {"steps": 20, "batch_size": 32, "log_every": 5, "sample_every": 10, "ckpt_every": 10,
                  "lr_decay_start": 0.5,
                  "progress": False},
        "eval": {"n_samples": 200},
    }
    return _tiny(values, overrides, {"arch": "mlp", "width": 16, "depth": 2, "norm": "none"})


def tiny_images(**overrides: str) -> Config:
    """scikit-learn digits (8x8) with small DCGAN nets."""
    values = {
        "data": {"name": "digits"},
        "nets": {"z_dim": 8},
        "train": {"steps": 6, "batch_size": 16, "log_every": 2, "sample_every": 3, "ckpt_every": 3,
                  "progress": False},
        "eval": {"grid": 16},
    }
    return _tiny(values, overrides, {"arch": "dcgan", "width": 8, "norm": "batch"})


def tiny_translation(game: str, **overrides: str) -> Config:
    """A tiny translation run on 32-px shapes, label map -> photo (pix2pix: pairs; cyclegan: two collections)."""
    gen = ({"arch": "unet", "width": 4, "depth": 8, "norm": "batch"} if game == "pix2pix" else
           {"arch": "resnet", "width": 4, "depth": 1, "norm": "instance"})
    disc = {"arch": "patchgan", "width": 4, "depth": 1, "norm": "batch" if game == "pix2pix" else "instance"}
    nets = {"G": gen, "D": disc} if game == "pix2pix" else {"G": gen, "F": gen, "D_X": disc, "D_Y": disc}
    values = {"data": {"name": "shapes-labels", "n_samples": 64, "paired": game == "pix2pix"}, "nets": nets,
              "game": {"name": game},
              "train": {"steps": 4, "batch_size": 8, "log_every": 2, "sample_every": 2, "ckpt_every": 2,
                        "progress": False}, "eval": {"grid": 4}}
    overrides = {k: v for k, v in overrides.items() if k != "game.name"}
    return config_mod.build(values, config_mod.parse_overrides([f"{k}={v}" for k, v in overrides.items()]))


def train_runs(base: Path, configs: dict[str, Config]) -> dict[str, Path]:
    """Train each config with `gankit train` into base/NAME (GANKIT_CACHE under base), for module fixtures."""
    from gankit.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(base / "cache"))
        for name, cfg in configs.items():
            config_mod.write(cfg, base / f"{name}.toml")
            assert main(["train", str(base / f"{name}.toml"), "--out", str(base / name)]) == 0
    return {name: base / name for name in configs}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # Tests are tiny: one thread avoids the ~8 ms per-op contention cost on a busy 2-core machine.
    torch.set_num_threads(1)
