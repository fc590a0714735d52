from pathlib import Path

import pytest

from gankit import config as C
from gankit import presets
from gankit.errors import UserError


def test_defaults_and_overrides_are_typed() -> None:
    cfg = C.build({"data": {"name": "grid25"}}, C.parse_overrides(["train.steps=12", "optim.G.lr=1e-3", "train.ema=false", "seed=7"]))
    assert cfg.data.name == "grid25"
    assert cfg.train.steps == 12 and isinstance(cfg.train.steps, int)
    assert cfg.optim.G.lr == pytest.approx(1e-3)
    assert cfg.train.ema is False and cfg.seed == 7
    assert cfg.optim.D.lr == pytest.approx(2e-4) and cfg.optim.D.beta1 == 0.5  # DCGAN defaults


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("train.stepz=3", "unknown config key 'train.stepz'"),
        ("nope=1", "unknown config key 'nope'"),
        ("train.steps=abc", "'train.steps': 'abc' is not an integer"),
        ("optim.G.lr=-1", "'optim.G.lr': -1.0 is not allowed; expected a number in (0, 10]"),
        ("data.split=val", "expected train or test"),
        ("train.ema=maybe", "is not true or false"),
        ("train=3", "is a section"),
        ("train.steps", "--set expects key=value"),
    ],
)
def test_bad_values_are_refused_with_the_key(override: str, fragment: str) -> None:
    with pytest.raises(UserError, match=None) as info:
        C.build({}, C.parse_overrides([override]))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_toml_roundtrip(tmp_path: Path) -> None:
    cfg = C.build({}, C.parse_overrides(["nets.G.width=33", "data.sigma=0.02"]))
    C.write(cfg, tmp_path / "c.toml")
    assert C.load(tmp_path / "c.toml") == cfg


def test_every_preset_builds_and_describes_itself() -> None:
    for name in ["ring8-gan", "ring8-minimax", "grid25-gan", "grid25-minimax", "fashion-dcgan", "folder-dcgan"]:
        assert name in presets.names()
    for name in presets.names():
        _, values = presets.resolve(name)
        C.build(values)
        assert presets.describe(name), name


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match="unknown preset 'ring9'.*ring8-gan"):
        presets.resolve("ring9")


def test_a_game_refuses_the_settings_of_other_games() -> None:
    with pytest.raises(UserError, match=r"unknown config key 'game.loss'.*blur.*\(settings of game 'sinkhorn'\)"):
        C.build({"game": {"name": "sinkhorn"}}, C.parse_overrides(["game.loss=hinge"]))
    with pytest.raises(UserError, match="unknown config key 'game.blur'"):
        C.build({}, C.parse_overrides(["game.blur=0.1"]))  # the gan game has no Sinkhorn blur
    # the override picks the game even when the preset named another one
    cfg = C.build({"game": {"name": "gan"}}, C.parse_overrides(["game.name=sinkhorn", "game.blur=0.3"]))
    assert cfg.game.name == "sinkhorn" and cfg.game.blur == 0.3


def test_player_sections_follow_the_game() -> None:
    cfg = C.build({"game": {"name": "sinkhorn", "features": True}})
    assert set(cfg.nets.players) == {"G", "F"} and set(cfg.optim.players) == {"G", "F"}
    assert cfg.nets.G.norm == "batch"  # the game's default for its generator
    with pytest.raises(UserError, match="nets.E is for a player game 'gan' does not have; its nets sections: G, D"):
        C.build({}, C.parse_overrides(["nets.E.width=8"]))
    with pytest.raises(UserError, match="optim.EG is for a player"):
        C.build({}, C.parse_overrides(["optim.EG.lr=1e-3"]))
    with pytest.raises(UserError, match="'nets.D.width': 0 is not allowed"):
        C.build({}, C.parse_overrides(["nets.D.width=0"]))


def test_players_round_trip_through_toml(tmp_path: Path) -> None:
    cfg = C.build({"game": {"name": "sinkhorn", "features": True}}, C.parse_overrides(["nets.F.width=12",
                                                                                       "optim.F.lr=1e-3"]))
    C.write(cfg, tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text()
    assert "[nets.F]" in text and "[optim.F]" in text and "players" not in text
    assert C.load(tmp_path / "c.toml") == cfg


OLD_RUN_CONFIG = """seed = 0
[data]
name = "ring8"
[nets]
z_dim = 2
z_dist = "normal"
[nets.G]
arch = "mlp"
width = 32
depth = 3
norm = "batch"
spectral_norm = false
[nets.D]
arch = "mlp"
width = 48
depth = 3
norm = "none"
spectral_norm = false
[optim.G]
lr = 0.0005
[optim.D]
lr = 0.0003
[game]
name = "NAME"
loss = "ns"
conditional = false
n_critic = 1
pack = 1
penalty = "none"
penalty_weight = 10.0
penalty_every = 1
clip = 0.0
instance_noise = 0.0
instance_noise_until = 0.5
blur = 0.02
scaling = 0.5
features = FEATURES
"""


@pytest.mark.parametrize("name, features", [("gan", "false"), ("sinkhorn", "false"), ("sinkhorn", "true")])
def test_run_configs_of_earlier_versions_still_load(tmp_path: Path, name: str, features: str) -> None:
    """Run directories written before per-game settings (every game's keys in [game]; the Sinkhorn critic
    in [nets.D]) load as what ran: a week-old run can still be resumed, sampled and evaluated."""
    (tmp_path / "config.toml").write_text(OLD_RUN_CONFIG.replace("NAME", name).replace("FEATURES", features))
    cfg = C.load(tmp_path / "config.toml")
    assert cfg.game.name == name and cfg.nets.G.width == 32
    if name == "gan":
        assert set(cfg.nets.players) == {"G", "D"} and cfg.optim.D.lr == 0.0003 and cfg.game.loss == "ns"
    elif features == "true":
        assert set(cfg.nets.players) == {"G", "F"} and cfg.nets.F.width == 48 and cfg.optim.F.lr == 0.0003
        assert cfg.game.blur == 0.02
    else:
        assert set(cfg.nets.players) == {"G"} and set(cfg.optim.players) == {"G"}


def test_a_partial_player_table_changes_only_its_keys_of_the_games_default() -> None:
    cfg = C.build({"nets": {"G": {"width": 64}}}, C.parse_overrides(["nets.D.depth=2"]))
    assert cfg.nets.G.norm == "batch" and cfg.nets.G.width == 64  # the gan game's G keeps its batch norm
    assert cfg.nets.D.depth == 2 and cfg.nets.D.norm == "none"


def test_setting_a_game_key_in_code_sets_what_the_game_reads() -> None:
    cfg = C.build({})
    cfg.game.n_critic = 5
    assert cfg.game.settings.n_critic == 5 and C.to_dict(cfg)["game"]["n_critic"] == 5
    with pytest.raises(AttributeError, match="no setting 'blur'"):
        cfg.game.blur = 0.1


def test_run_configs_from_before_packing_still_load(tmp_path: Path) -> None:
    text = OLD_RUN_CONFIG.replace("NAME", "gan").replace("FEATURES", "false")
    for key in ("pack = 1\n", "instance_noise = 0.0\n", "instance_noise_until = 0.5\n"):
        text = text.replace(key, "")
    (tmp_path / "config.toml").write_text(text)
    assert C.load(tmp_path / "config.toml").game.pack == 1


def test_pack_zero_is_refused_by_its_own_check_not_a_division_by_zero() -> None:
    # found by the CLI fuzz test: validate divided the batch by game.pack before the per-key checks ran
    from tests.conftest import tiny_toy

    with pytest.raises(UserError, match=r"game\.pack.*not allowed"):
        tiny_toy(**{"game.pack": "0"})
