"""pix2pix and CycleGAN as games: their phases and losses, the image pool, exact resume, refusals."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.errors import UserError
from gankit.games.image_pool import ImagePool
from gankit.train import checkpoint, session
from gankit.train.loop import Trainer
from tests.conftest import tiny_translation


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))  # never the user's


def test_the_pool_fills_then_swaps_old_fakes_in_with_probability_one_half() -> None:
    pool = ImagePool(size=4, p=0.5, seed=0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool(first), first) and len(pool.images) == 4  # filling: every fake passes through
    fresh = torch.arange(4.0, 2004.0).view(-1, 1, 1, 1)
    shown = pool(fresh)
    swapped = shown != fresh
    assert 900 < swapped.sum().item() < 1100  # about half of them: an older fake in their place
    assert (shown[swapped] < fresh[swapped]).all()  # ... and always an older one
    assert len(pool.images) == 4


def test_the_pool_resumes_exactly_from_its_state() -> None:
    pool = ImagePool(size=3, p=0.5, seed=1)
    pool(torch.randn(5, 1, 2, 2))
    state = pool.state_dict()
    again = ImagePool(size=3, p=0.5, seed=99)
    again.load_state_dict(state)
    batch = torch.randn(6, 1, 2, 2)
    assert torch.equal(pool(batch), again(batch)) and torch.equal(pool.images, again.images)


@pytest.mark.parametrize("game", ["pix2pix", "cyclegan"])
def test_resume_is_exact(tmp_path: Path, game: str) -> None:
    """Weights, EMA, optimisers and (CycleGAN) the image pools with their RNG: a run stopped and resumed
    ends with the same bytes as one that was not. The pool of 3 is full after the first step, so
    the resumed run only matches if the pool's images and generator came back."""
    cfg = lambda: tiny_translation(game, **{"train.steps": "6", "game.pool_size": "3"} if game == "cyclegan"  # noqa: E731
                                   else {"train.steps": "6"})
    full = session.train_new(cfg(), tmp_path / "full")

    def stop(trainer) -> None:
        if trainer.step == 3:
            trainer.request_stop()

    half = session.train_new(cfg(), tmp_path / "half", hooks=[stop])
    assert half.step == 3
    resumed = session.resume(half.run_dir)
    a, b = checkpoint.load_latest(full.run_dir), checkpoint.load_latest(resumed.run_dir)
    for name, weights in a["players"].items():
        assert all(torch.equal(v, b["players"][name][k]) for k, v in weights.items()), name
    if game == "cyclegan":
        assert torch.equal(a["game"]["pool_y"]["images"], b["game"]["pool_y"]["images"])
    assert (full.run_dir / "samples" / "step-00000006.png").read_bytes() == \
        (resumed.run_dir / "samples" / "step-00000006.png").read_bytes()


def test_cyclegan_d_phase_reuses_the_g_phase_fakes(tmp_path: Path) -> None:
    """A step runs G on x (fake y), on F(y) (backward cycle) and on y (identity), and nothing more: the D
    phase judges the fakes the G phase made (as the reference code), it does not draw them again."""
    trainer = Trainer(tiny_translation("cyclegan"), tmp_path)
    calls = {"G": 0, "F": 0}
    for name in calls:
        trainer.players[name].register_forward_hook(lambda m, i, o, name=name: calls.__setitem__(name, calls[name] + 1))
    trainer.train_step()
    assert calls == {"G": 3, "F": 3}


def test_pix2pix_ablations_change_the_players_and_phases(tmp_path: Path) -> None:
    l1_only = Trainer(tiny_translation("pix2pix", **{"game.gan": "none"}), tmp_path / "a")
    assert [p.name for p in l1_only.game.phases] == ["G"]  # D is never trained (nor asked: see the stats)
    l1_only.train_step()
    assert set(l1_only.meter.flush()) == {"l1", "loss_G"}
    unconditional = Trainer(tiny_translation("pix2pix", **{"game.gan": "unconditional"}), tmp_path / "b")
    conditional = Trainer(tiny_translation("pix2pix"), tmp_path / "c")
    # the conditional D reads the input beside the output: 3 more input channels in its first conv
    first = lambda t: next(m for m in t.players["D"].modules() if isinstance(m, torch.nn.Conv2d))  # noqa: E731
    assert first(conditional).in_channels == first(unconditional).in_channels + 3
    with pytest.raises(UserError, match="nothing to learn"):
        Trainer(tiny_translation("pix2pix", **{"game.gan": "none", "game.l1": "0"}), tmp_path / "d")


def test_pix2pix_refuses_unpaired_data_and_cyclegan_paired_data(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data.paired=true"):
        Trainer(tiny_translation("pix2pix", **{"data.paired": "false"}), tmp_path / "a")
    with pytest.raises(UserError, match="data.paired=false"):
        Trainer(tiny_translation("cyclegan", **{"data.paired": "true"}), tmp_path / "b")


def test_cyclegan_refuses_settings_that_would_do_nothing_or_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="identity=0"):
        Trainer(tiny_translation("cyclegan", **{"game.cycle": "0"}), tmp_path / "a")
    with pytest.raises(UserError, match="channels"):  # edges (1 channel) -> photo (3): G(y) ~ y cannot be asked
        Trainer(tiny_translation("cyclegan", **{"data.name": "shapes-edges"}), tmp_path / "b")
    Trainer(tiny_translation("cyclegan", **{"data.name": "shapes-edges", "game.identity": "0"}), tmp_path / "c")


def test_cyclegan_ablations_drop_the_terms_they_name(tmp_path: Path) -> None:
    for overrides, absent in (({"game.cycle": "0", "game.identity": "0"}, {"cycle_x", "cycle_y", "identity"}),
                              ({"game.cycle_directions": "forward"}, {"cycle_y"}),
                              ({"game.identity": "0"}, {"identity"})):
        trainer = Trainer(tiny_translation("cyclegan", **overrides), tmp_path / str(len(absent)) / overrides.popitem()[0])
        trainer.train_step()
        logged = set(trainer.meter.flush())
        assert not logged & absent and "loss_G" in logged


def test_translation_options_are_refused_by_other_datasets(tmp_path: Path) -> None:
    from tests.conftest import tiny_images

    with pytest.raises(UserError, match="translation datasets"):
        Trainer(tiny_images(**{"data.paired": "false"}), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["shapes-labels2img-pix2pix", "fashion-edges2img-pix2pix", "shapes-labels2img-cyclegan",
                                    "shapes-recolor-cyclegan", "fashion-sneaker2boot-cyclegan"])
def test_every_translation_preset_takes_a_step_and_draws_its_triplets(preset: str, tmp_path: Path) -> None:
    from gankit import config as config_mod
    from gankit import presets
    from gankit.train.restore import source_batch
    from gankit.train.sampling import generate

    _, values = presets.resolve(preset)
    overrides = ["train.batch_size=4", "train.progress=false"]
    if values["data"]["name"].startswith("shapes"):
        overrides.append("data.n_samples=64")
    elif not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST is not installed (make data)")
    cfg = config_mod.build(values, config_mod.parse_overrides(overrides))
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.train_step()
    trainer.check_health()
    inputs = trainer.game.fixed_inputs(3, torch.Generator().manual_seed(0), source=source_batch(cfg, trainer.game, 3))
    panels = generate(trainer.game, trainer.players, inputs)
    assert panels["fake"].shape[0] == 3 and {"input", "fake"} <= set(panels)
