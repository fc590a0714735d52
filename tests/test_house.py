"""Structure that the coming games rely on: no import cycles, typed public dataclasses, uint8 images
decoded to the exact float values, independent domains, players from other runs, frozen players."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import typing
from pathlib import Path

import numpy as np
import pytest
import torch

import gankit
from gankit.data.base import BatchSampler, FieldSpec, TensorData
from gankit.data.transforms import to_tensor, to_uint8_tensor
from gankit.errors import UserError
from gankit.train import checkpoint, session
from gankit.train.loop import Trainer
from tests.conftest import tiny_toy

SRC = Path(gankit.__file__).parent


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(SRC)], "gankit.") if m.name != "gankit.__main__")


def _imports(name: str) -> set[str]:
    """gankit modules that `name` imports anywhere: at module level, inside functions (lazy imports)
    and under TYPE_CHECKING -- a cycle through any of them is still a cycle (get_type_hints follows
    TYPE_CHECKING names, and a lazy import only hides the cycle until the function runs)."""
    path = SRC / Path(*name.split(".")[1:])
    path = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
    known = set(_modules()) | {"gankit"}
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("gankit"):
            out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                    for a in node.names}
    return out - {name}


def test_nothing_imports_in_a_circle() -> None:
    graph = {m: _imports(m) for m in _modules()}
    # a module using its own package (`import gankit` for the version) is not a cycle of logic
    graph = {m: {d for d in deps if not (m.startswith(d + ".") and d in graph)} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(d):] + [d]))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_type_hints_resolve_on_every_public_dataclass() -> None:
    checked = 0
    for name in _modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if dataclasses.is_dataclass(obj) and isinstance(obj, type) and not attr.startswith("_") \
                    and obj.__module__ == name:
                typing.get_type_hints(obj)
                checked += 1
    assert checked >= 20


def test_uint8_images_decode_to_exactly_the_float_values() -> None:
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    stored = to_uint8_tensor(pixels)
    data = TensorData.labelled(stored)
    assert data.fields["x"].dtype == torch.uint8
    assert torch.equal(data.x, to_tensor(pixels))  # bit-identical to the float pipeline of before
    batch = BatchSampler(data, 3, seed=0).sample()
    assert batch["x"].dtype == torch.float32 and batch["x"].min() >= -1 and batch["x"].max() <= 1


def test_8_bit_images_are_stored_as_uint8_and_resized_ones_as_the_same_floats_as_before() -> None:
    from gankit.config import DataConfig
    from gankit.data.transforms import resize_batch
    from gankit.registry import DATASETS

    digits = DATASETS.get("digits")(DataConfig(name="digits"))
    assert digits.fields["x"].dtype == torch.float32  # 17 grey levels, not 8-bit: kept as they are
    fashion = Path("/usr/share/datasets/fashion-mnist")
    if not fashion.is_dir():
        pytest.skip("Fashion-MNIST is not installed")
    native = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", limit=100))
    assert native.fields["x"].dtype == torch.uint8 and native.shape == (1, 28, 28)
    small = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", limit=100, resolution=14))
    assert small.fields["x"].dtype == torch.float32  # not rounded back to 8 bits: the data of earlier runs
    assert torch.equal(small.x, resize_batch(native.x, 14))


def test_a_domain_is_sampled_with_its_own_index() -> None:
    spec = FieldSpec("points", (1,))
    other = TensorData({"u": torch.arange(1000.0)[:, None]}, {"u": spec})
    data = TensorData({"x": torch.arange(10.0)[:, None]}, {"x": spec}, domains={"b": other})
    alone = TensorData({"x": torch.arange(10.0)[:, None]}, {"x": spec})
    a, b = BatchSampler(data, 64, seed=3), BatchSampler(alone, 64, seed=3)
    first = a.sample()
    assert torch.equal(first["x"], b.sample()["x"])  # adding a domain leaves the main stream alone
    assert first["u"].max() >= 10  # drawn from its own length, not the main data's
    state = a.state_dict()
    again = a.sample()
    a.load_state_dict(state)
    assert all(torch.equal(again[k], v) for k, v in a.sample().items())
    with pytest.raises(ValueError, match="repeat across domains"):
        TensorData({"x": torch.zeros(2, 1)}, {"x": spec}, domains={"b": TensorData({"x": torch.zeros(2, 1)},
                                                                                {"x": spec})})


def test_init_from_starts_a_player_from_another_runs_ema_weights(tmp_path: Path) -> None:
    source = session.train_new(tiny_toy(), tmp_path / "a").run_dir
    ema_g = checkpoint.load_latest(source)["ema"]["G"]["weights"]
    trainer = Trainer(tiny_toy(**{"nets.G.init_from": f"{source}:G"}), tmp_path / "b")
    assert all(torch.equal(v, ema_g[k]) for k, v in trainer.players["G"].state_dict().items())
    fresh = Trainer(tiny_toy(), tmp_path / "c")
    assert not torch.equal(fresh.players["G"].net[0].weight, trainer.players["G"].net[0].weight)
    for value, fragment in ((f"{source}:E", "no player 'E'"), (str(tmp_path / "nope"), "not a gankit run directory")):
        with pytest.raises(UserError, match=fragment):
            Trainer(tiny_toy(**{"nets.G.init_from": value}), tmp_path / "d")
    with pytest.raises(UserError, match="do not fit"):
        Trainer(tiny_toy(**{"nets.G.init_from": str(source), "nets.G.width": "8"}), tmp_path / "e")


def test_a_frozen_player_that_a_phase_would_train_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="player D is frozen.*trains it"):
        Trainer(tiny_toy(**{"nets.D.frozen": "true"}), tmp_path)


def test_a_domain_field_can_be_a_translation_source() -> None:
    from tests.contract_game import contract_pairs

    data = contract_pairs(None)
    out = data.take(torch.arange(350), ("x", "u"))  # the domain has 300 rows: indexed modulo its length
    assert out["u"].shape == (350, 2) and torch.equal(out["u"][300], out["u"][0])


def test_atomic_writes_leave_files_readable_and_no_debris(tmp_path: Path) -> None:
    import os

    from gankit.files import atomic_write

    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "a.json", b"{}")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # as a plain open() would make it, not mkstemp's 0600
    (tmp_path / ".b.json.tmp").write_bytes(b"half a file from a killed write")
    atomic_write(tmp_path / "b.json", b"[]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_a_resume_marker_after_a_torn_row_is_still_read(tmp_path: Path) -> None:
    from gankit.train.rundir import METRICS_FILE, MetricsLog, read_rows

    (tmp_path / METRICS_FILE).write_text('{"step": 10}\n{"step": 20}\n{"step": 30}\n{"step": 4')
    log = MetricsLog(tmp_path, resume_step=20)
    log.write({"step": 30, "new": True})
    log.close()
    assert read_rows(tmp_path / METRICS_FILE) == [{"step": 10}, {"step": 20}, {"step": 30, "new": True}]


def test_a_resume_does_not_need_the_init_from_run_any_more(tmp_path: Path) -> None:
    import shutil

    source = session.train_new(tiny_toy(), tmp_path / "a").run_dir

    def stop(trainer) -> None:
        if trainer.step == 5:
            trainer.request_stop()

    run = session.train_new(tiny_toy(**{"nets.G.init_from": str(source)}), tmp_path / "b", hooks=[stop]).run_dir
    shutil.rmtree(source)
    assert session.resume(run).step == 20  # its own checkpoint holds G; the source run is not read again


def test_a_feature_critic_has_the_discriminators_weights_and_calls_through_forward() -> None:
    from gankit.config import NetConfig
    from gankit.nets.base import NetSpec, build_net

    torch.manual_seed(0)
    D = build_net(NetConfig(width=8, depth=2), "discriminator", NetSpec((2,), ()))
    F = build_net(NetConfig(width=8, depth=2), "features", NetSpec((2,), ()))
    F.load_state_dict(D.state_dict())  # same names: a D's checkpoint (or init_from) fits an F
    x = torch.randn(4, 2)
    assert torch.equal(F(x), D.features(x)) and F(x).shape == (4, 8)


def test_a_text_conditioned_gan_takes_its_embeddings_from_real_examples(tmp_path: Path) -> None:
    from gankit import config as config_mod
    from gankit.registry import GAMES

    spec = {"x": FieldSpec("points", (2,)), "text": FieldSpec("embedding", (6,))}
    cfg = config_mod.build({"game": {"conditional": True, "condition": "text"}})
    game = GAMES.get("gan")(cfg, spec)
    assert game.conditions["text"].kind == "embedding" and game.source_fields == ("text",)
    source = {"x": torch.zeros(5, 2), "text": torch.randn(5, 6)}
    inputs = game.fixed_inputs(5, torch.Generator().manual_seed(0), source=source)
    assert torch.equal(inputs["text"], source["text"])
    assert game.generate(game.players, inputs)["fake"].shape == (5, 2)
    with pytest.raises(UserError, match="needs real examples"):
        game.fixed_inputs(5, torch.Generator().manual_seed(0))
