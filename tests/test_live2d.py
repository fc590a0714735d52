"""Live 2D snapshots: exact pictures of hand-made players, nothing changed in training, bounded files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from gankit.live import snapshots
from gankit.losses.sinkhorn import sinkhorn_divergence
from gankit.train import checkpoint, live2d, session
from gankit.train.live2d import LiveWriter
from gankit.train.loop import Trainer
from gankit.train.rundir import METRICS_FILE, read_rows
from tests.conftest import tiny_images, tiny_toy

FIELDS = {"schema", "step", "seq", "written", "manual", "game", "loss", "bounds", "real", "fake", "fake_from",
          "surface", "surface_kind", "surface_of", "surface_why", "warp", "warp_why", "pull", "pull_of", "pull_why"}
W, B = torch.tensor([0.7, -1.3]), 0.2  # the hand-made critic: D(x) = <W, x> + B


class LinearD(nn.Module):
    """D(x, c=None) = <W, x> + B (a gan D), or, with z, <W, x> + <V, z> + B (ALI's joint D)."""

    V = torch.tensor([0.5, 0.25])

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        out = x @ W + B
        return out + c @ self.V if c is not None and c.is_floating_point() else out


def _writer(tmp_path: Path, **overrides: str) -> tuple[Trainer, LiveWriter]:
    trainer = Trainer(tiny_toy(**overrides), tmp_path)
    for _ in range(3):
        trainer.train_step()
    return trainer, LiveWriter(trainer)


def _t(value) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _grid(snap: dict) -> torch.Tensor:
    ys, xs = torch.meshgrid(_t(snap["surface"]["ys"]), _t(snap["surface"]["xs"]), indexing="ij")
    return torch.stack([xs, ys], dim=-1)  # [i][j] = (xs[j], ys[i])


@pytest.mark.parametrize("loss", ["ns", "wgan"])
def test_a_hand_made_critic_gives_its_own_surface_and_pull(tmp_path: Path, loss: str) -> None:
    trainer, writer = _writer(tmp_path, **{"game.loss": loss})
    trainer.players["D"] = LinearD()
    snap = writer.snapshot()
    assert set(snap) == FIELDS and snap["surface_of"] == "D(x)"
    logits = _grid(snap) @ W.double() + B
    if loss == "ns":
        assert snap["surface_kind"] == "probability"
        assert torch.allclose(_t(snap["surface"]["values"]), torch.sigmoid(logits), atol=1e-3)
    else:
        assert snap["surface_kind"] == "score"
        assert torch.allclose(_t(snap["surface"]["values"]), logits, atol=5e-3)  # 4 digits of values and grid
    G, z = trainer.players["G"].eval(), trainer.fixed_inputs["z"][:live2d.POINTS]
    with torch.no_grad():
        fake = G(z).double()
    assert torch.allclose(_t(snap["fake"]), fake, atol=1e-3, rtol=1e-3)
    # ns: L_G = mean softplus(-D(f)), so -N dL/df_i = sigmoid(-D(f_i)) W;  wgan: L_G = -mean D(f), so W for every fake
    expected = (torch.sigmoid(-(fake @ W.double() + B))[:, None] if loss == "ns" else torch.ones(len(fake), 1)) * W.double()
    assert torch.allclose(_t(snap["pull"]), expected, atol=2e-3, rtol=2e-3)
    mesh = torch.linspace(-2.5, 2.5, live2d.WARP)
    z1, z2 = torch.meshgrid(mesh, mesh, indexing="ij")
    with torch.no_grad():
        warped = G(torch.stack([z1.flatten(), z2.flatten()], 1)).reshape(live2d.WARP, live2d.WARP, 2).double()
    assert snap["warp"]["z_range"] == [-2.5, 2.5]
    assert torch.allclose(_t(snap["warp"]["points"]), warped, atol=1e-3, rtol=1e-3)
    assert len(json.dumps(snap)) < 64_000


def test_ali_shows_d_on_each_point_with_its_code_and_pulls_with_the_pair(tmp_path: Path) -> None:
    trainer, writer = _writer(tmp_path, **{"game.name": "ali"})
    trainer.players["D"] = LinearD()
    snap = writer.snapshot()
    assert snap["surface_of"].startswith("D(x, E(x))")
    grid = _grid(snap).reshape(-1, 2).float()
    E = trainer.players["E"].eval()
    with torch.no_grad():
        code = trainer.game.encode(E, grid)
    logits = (grid @ W + B + code @ LinearD.V).reshape(live2d.GRID, live2d.GRID)
    assert torch.allclose(_t(snap["surface"]["values"]), torch.sigmoid(logits).double(), atol=1e-3)
    fake, z = _t(snap["fake"]), trainer.fixed_inputs["z"][:live2d.POINTS].double()
    expected = torch.sigmoid(-(fake @ W.double() + B + z @ LinearD.V.double()))[:, None] * W.double()
    assert torch.allclose(_t(snap["pull"]), expected, atol=2e-3, rtol=2e-3)


def test_sinkhorn_has_no_surface_and_pulls_along_the_divergence(tmp_path: Path) -> None:
    trainer, writer = _writer(tmp_path, **{"game.name": "sinkhorn"})
    snap = writer.snapshot()
    assert snap["surface"] is None and "no discriminator" in snap["surface_why"] and snap["surface_kind"] is None
    fake = torch.tensor(snap["fake"]).requires_grad_(True)  # the rounded fakes: the field there is the same to 1e-3
    real = writer.real
    (grad,) = torch.autograd.grad(sinkhorn_divergence(fake, real, trainer.game.blur, trainer.game.scaling), fake)
    pull = _t(snap["pull"])
    assert torch.allclose(pull, -len(fake) * grad.double(), atol=0.05 * float(pull.abs().max()))
    assert "S_eps" in snap["pull_of"] and snap["pull_why"] is None


def test_what_a_game_cannot_show_is_null_with_a_reason(tmp_path: Path) -> None:
    trainer, writer = _writer(tmp_path, **{"game.conditional": "true"})
    snap = writer.snapshot()
    assert snap["surface"] is None and "condition" in snap["surface_why"]
    assert snap["pull"] is not None and "D(G(z), c)" in snap["pull_of"]
    trainer, writer = _writer(tmp_path, **{"game.pack": "2"})
    assert "PacGAN" in writer.snapshot()["surface_why"]


def test_a_game_without_z_or_generator_loss_still_shows_its_points(tmp_path: Path) -> None:
    from tests.contract_game import contract_cfg

    trainer = Trainer(contract_cfg(), tmp_path)
    snap = LiveWriter(trainer).snapshot()
    assert set(snap) == FIELDS and len(snap["fake"]) == 64 and len(snap["real"]) == 256  # eval.n_samples = 64
    for part in ("surface", "warp", "pull"):
        assert snap[part] is None and snap[f"{part}_why"], part


def _fingerprint(run: Path) -> tuple[dict, list, list]:
    state = checkpoint.load_latest(run)
    flat = {f"{p}.{k}": v for p, sd in state["players"].items() for k, v in sd.items()}
    flat.update({f"ema.{n}.{k}": v for n, e in state["ema"].items() for k, v in e["weights"].items()})
    flat.update({f"opt.{n}": torch.cat([t.flatten() for s in o["state"].values() for t in s.values()
                                        if torch.is_tensor(t)]) for n, o in state["optimizers"].items()})
    rows = [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in read_rows(run / METRICS_FILE)]
    pictures = [p.read_bytes() for p in sorted((run / "samples").glob("*.png"))]
    return flat, rows, pictures


CASES = [
    {},
    {"nets.G.norm": "batch", "game.loss": "wgan", "game.penalty": "gp", "game.n_critic": "2"},
    {"game.conditional": "true", "game.instance_noise": "0.1"},
    {"game.name": "ali"},  # its D has dropout 0.2: a snapshot in train mode would draw from the RNG
    {"game.name": "sinkhorn", "game.features": "true"},
]


@pytest.mark.parametrize("overrides", [pytest.param(c, marks=[pytest.mark.slow] if i else []) for i, c in enumerate(CASES)])
def test_snapshots_change_nothing_in_training(tmp_path: Path, overrides: dict) -> None:
    on = session.train_new(tiny_toy(**{"train.live_every": "1", **overrides}), tmp_path / "on").run_dir
    off = session.train_new(tiny_toy(**{"train.live_every": "0", **overrides}), tmp_path / "off").run_dir
    assert snapshots.list_snapshots(on) == list(range(21)) and snapshots.list_snapshots(off) == []
    (w_on, rows_on, pics_on), (w_off, rows_off, pics_off) = _fingerprint(on), _fingerprint(off)
    assert w_on.keys() == w_off.keys() and all(torch.equal(w_on[k], w_off[k]) for k in w_on)
    assert rows_on == rows_off and pics_on == pics_off


def test_a_snapshot_leaves_no_gradient_rng_or_statistics_behind(tmp_path: Path) -> None:
    trainer, writer = _writer(tmp_path, **{"game.name": "ali", "nets.G.norm": "batch"})  # D: dropout 0.2
    state = lambda: ([None if p.grad is None else p.grad.clone() for m in trainer.players.values()  # noqa: E731
                      for p in m.parameters()], [b.clone() for m in trainer.players.values() for b in m.buffers()],
                     torch.get_rng_state(), json.dumps(trainer.sampler.state_dict(), default=str),
                     [m.training for m in trainer.players.values()], [p.requires_grad for p in trainer.players["D"].parameters()])
    before = state()
    writer.write()
    after = state()
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(before[0], after[0]))
    assert all(torch.equal(a, b) for a, b in zip(before[1], after[1]))
    assert torch.equal(before[2], after[2]) and before[3:] == after[3:]


def test_files_seq_and_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer, writer = _writer(tmp_path)
    assert snapshots.list_snapshots(tmp_path) == [] and snapshots.latest(tmp_path) is None
    monkeypatch.setattr(live2d, "MAX_FILES", 10)
    monkeypatch.setattr(live2d, "KEEP_RECENT", 4)
    for step in range(0, 300, 10):
        trainer.step = step
        writer.write()
        assert len(snapshots.list_snapshots(tmp_path)) <= 10
    steps = snapshots.list_snapshots(tmp_path)
    assert steps[0] == 0 and steps[-4:] == [260, 270, 280, 290]  # the first and the newest stay
    newest = snapshots.latest(tmp_path)
    assert newest["step"] == 290 and newest["seq"] == 30 and newest == snapshots.read_snapshot(tmp_path, 290)
    assert snapshots.latest(tmp_path, after=30) is None
    writer.write(manual=("D",))  # a phase run by hand: the same step, a higher seq
    again = snapshots.latest(tmp_path, after=30)
    assert again["step"] == 290 and again["seq"] == 31 and again["manual"] == ["D"]
    with pytest.raises(FileNotFoundError):
        snapshots.read_snapshot(tmp_path, 5)
    trainer.step = 200  # a resume from step 200: the cut-short session's later snapshots go, seq goes on
    resumed = LiveWriter(trainer)
    assert max(snapshots.list_snapshots(tmp_path)) <= 200
    resumed.write()
    assert snapshots.latest(tmp_path, after=31)["seq"] == 32


def test_image_runs_write_no_snapshots(tmp_path: Path) -> None:
    run = session.train_new(tiny_images(**{"train.live_every": "1", "train.steps": "2"}), tmp_path / "run").run_dir
    assert not (run / snapshots.LIVE_DIR).exists()


def test_live_every_is_validated() -> None:
    from gankit.errors import UserError

    with pytest.raises(UserError, match="train.live_every"):
        tiny_toy(**{"train.live_every": "-1"})
