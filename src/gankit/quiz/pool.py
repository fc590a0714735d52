"""`gankit quiz-prepare RUN`: the quiz's pictures. n real ones from the dataset's test split (train when
it has none) and n fakes from the run's sampling players (EMA where kept), each a PNG under a random
16-hex-digit name, plus RUN/quiz/pool.json, which alone says which is which.

Nothing but the picture may tell real from fake: every file has the same size, mode and modification
time, names are random and files are written in name order. Images are enlarged by an integer
nearest-neighbour factor to about 160 px; a toy 2D run's pictures are scatter plots of 64 points with
one fixed frame and style. Translation games (pix2pix, CycleGAN) are refused: they draw from an input
picture, not from noise, and their quiz would be another question (is this the right output for it?).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from gankit.errors import UserError
from gankit.files import atomic_write, fsync_dir
from gankit.quiz.protocol import ANSWERS_FILE, ITEM_ID, POOL_FILE, POOL_IMAGES, POOL_SCHEMA, PROTOCOLS, quiz_dir
from gankit.viz.grids import make_grid, png_bytes, upscale

N_RANGE = (25, 5000)  # a session needs 25 of each (5 practice + 20 scored); 10,000 files at most
SEED_MAX = 2**63 - 1
SIDE = 160  # pictures are enlarged to about this many pixels
POINTS = 64  # points per toy scatter plot
_SUPER = 4  # scatter plots are drawn 4x larger and reduced: smooth dots, same bytes every time
_DOT, _FRAME, _BG = (31, 119, 180), (150, 150, 150), (255, 255, 255)


def prepare(run_dir: Path, n: int = 100, seed: int = 0, force: bool = False) -> Path:
    """Write RUN/quiz/pool/ and RUN/quiz/pool.json; returns pool.json's path. An existing pool is refused
    unless `force`; then it is replaced and its answers are moved to RUN/quiz/archive/."""
    from gankit.evaluate.sources import reference
    from gankit.train import rundir
    from gankit.train.restore import restore

    run_dir = Path(run_dir)
    if not (isinstance(n, int) and N_RANGE[0] <= n <= N_RANGE[1]):
        raise UserError(f"--n must be an integer in [{N_RANGE[0]}, {N_RANGE[1]}] (pictures of each kind), got {n!r}")
    if not (isinstance(seed, int) and 0 <= seed <= SEED_MAX):
        raise UserError(f"--seed must be an integer in [0, 2^63 - 1], got {seed!r}")
    rundir.require_run(run_dir)
    quiz = quiz_dir(run_dir)
    existing = [p for p in (quiz / POOL_FILE, quiz / POOL_IMAGES) if p.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]} exists: {run_dir} has a quiz pool already; pass --force to replace it "
                        "(its answers are kept in quiz/archive/)")
    run = restore(run_dir)
    if getattr(run.game, "directions", None):
        raise UserError(f"{run_dir} is a {run.cfg.game.name} run: it translates pictures rather than drawing them "
                        "from noise, and the quiz compares samples with real pictures")
    kind = "points" if run.spec["x"].kind == "points" else "images"
    ref = reference(run.cfg.data, None, run.game.reference_field)
    if kind == "points":
        reals, fakes = _scatter_plots(run, ref.data.x, n, seed)
    else:
        reals, fakes = _images(run, ref.data, n, seed)
    m = min(len(reals), len(fakes))
    if m < N_RANGE[0]:
        raise UserError(f"{ref.name} has {len(reals)} examples; a quiz pool needs at least {N_RANGE[0]}")
    pictures = [(a, "real") for a in reals[:m]] + [(a, "fake") for a in fakes[:m]]
    ids = _unique_ids(len(pictures))
    created = datetime.now(timezone.utc)
    staging = quiz / f".pool.new.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        stamp = created.timestamp()
        for item, (array, _) in sorted(zip(ids, pictures), key=lambda pair: pair[0]):  # name order, not truth order
            path = staging / f"{item}.png"
            path.write_bytes(png_bytes(array))  # plain writes: the folder appears whole, by one rename below
            os.utime(path, (stamp, stamp))  # one time for all: Last-Modified must not order reals before fakes
        fsync_dir(staging)
        previous = _retire(quiz)
        staging.rename(quiz / POOL_IMAGES)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    h, w = pictures[0][0].shape[:2]
    pool = {"schema": POOL_SCHEMA, "id": secrets.token_hex(8), "kind": kind, "run": run_dir.resolve().name,
            "game": run.cfg.game.name, "step": run.step, "sampled_with": run.sampled_with, "real_source": ref.name,
            "real_note": ref.note or None, "n": m, "seed": seed, "image_size": [w, h],
            "created": created.isoformat(timespec="seconds"), "protocols": list(PROTOCOLS),
            "items": [{"id": i, "truth": t} for i, (_, t) in sorted(zip(ids, pictures), key=lambda p: p[0])]}
    if kind == "points":
        pool["points_per_picture"] = POINTS
    if previous:
        pool["previous"] = previous
    return atomic_write(quiz / POOL_FILE, (json.dumps(pool, indent=1) + "\n").encode())


def prepare_cli(run: str, n: int, seed: int, force: bool) -> int:
    """`gankit quiz-prepare RUN [--n 100] [--seed 0] [--force]`: make the pool and say what it holds."""
    path = prepare(Path(run), n, seed, force)
    pool = json.loads(path.read_text())
    what = "scatter plots of 64 points" if pool["kind"] == "points" else "pictures"
    print(f"wrote {path} and {2 * pool['n']} {what} in {path.parent / POOL_IMAGES}: {pool['n']} real from "
          f"{pool['real_source']}, {pool['n']} generated by the {pool['sampled_with']} at step {pool['step']} "
          f"(seed {seed})")
    if pool["real_note"]:
        print(f"note: {pool['real_note']}")
    if pool.get("previous", {}).get("answers_archived_to"):
        print(f"the previous pool's answers were moved to {pool['previous']['answers_archived_to']}")
    print(f"next: open the dashboard's quiz page for this run; then gankit quiz-report {run}")
    return 0


# ---- pictures ------------------------------------------------------------------------------------
def _images(run, data, n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """n real images (a seeded random subset) and n fakes, drawn the way `gankit sample` draws by default
    (conditions in turn, or the first captions of the training data), as enlarged uint8 arrays."""
    from gankit.evaluate.sources import subset
    from gankit.train.restore import source_batch
    from gankit.train.sampling import generate

    real, _ = subset(data, n, torch.Generator().manual_seed(seed))
    source = source_batch(run.cfg, run.game, n)
    inputs = run.game.fixed_inputs(n, torch.Generator().manual_seed(seed), source=source)
    fake = generate(run.game, run.players, inputs)["fake"]
    if tuple(real.shape[1:]) != tuple(fake.shape[1:]):
        raise UserError(f"the run draws pictures of shape {tuple(fake.shape[1:])} but its real ones are "
                        f"{tuple(real.shape[1:])}: the quiz needs one size, or the size would give the answer")
    factor = max(1, SIDE // max(real.shape[-2:]))
    return [_picture(x, factor) for x in real], [_picture(x, factor) for x in fake]


def _picture(x: Tensor, factor: int) -> np.ndarray:
    return upscale(make_grid(x[None].float(), nrow=1, padding=0), factor)


def _scatter_plots(run, data_x: Tensor, n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """n plots of 64 real points (each set drawn without replacement) and n of 64 generated points, in one
    frame: the data's extent, squared and padded by a quarter, so a generator's strays show at the edge."""
    from gankit.train.sampling import generate

    if len(data_x) < POINTS:
        raise UserError(f"the dataset has {len(data_x)} points; a quiz plot shows {POINTS}")
    g = torch.Generator().manual_seed(seed)
    real = torch.stack([data_x[torch.randperm(len(data_x), generator=g)[:POINTS]] for _ in range(n)])
    inputs = run.game.fixed_inputs(n * POINTS, torch.Generator().manual_seed(seed))
    fake = generate(run.game, run.players, inputs)["fake"].reshape(n, POINTS, -1)
    lo, hi = data_x.min(0).values, data_x.max(0).values
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.25 or 1.0
    frame = (float(centre[0]) - half, float(centre[1]) - half, 2 * half)
    return [_scatter(p, frame) for p in real], [_scatter(p, frame) for p in fake]


def _scatter(points: Tensor, frame: tuple[float, float, float]) -> np.ndarray:
    """(64, 2) points -> SIDE x SIDE RGB uint8; points outside the frame are drawn on its edge."""
    x0, y0, span = frame
    big, r, margin = SIDE * _SUPER, 2.5 * _SUPER, 4 * _SUPER
    img = Image.new("RGB", (big, big), _BG)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, big - 1, big - 1], outline=_FRAME, width=_SUPER)
    inner = big - 2 * margin
    p = points.detach().double().cpu().numpy()
    u = margin + np.clip((p[:, 0] - x0) / span, 0, 1) * inner
    v = margin + np.clip(1 - (p[:, 1] - y0) / span, 0, 1) * inner  # y grows upwards, as in every plot
    for a, b in zip(u, v):
        draw.ellipse([a - r, b - r, a + r, b + r], fill=_DOT)
    return np.asarray(img.resize((SIDE, SIDE), Image.Resampling.LANCZOS))


# ---- files ---------------------------------------------------------------------------------------
def _unique_ids(k: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < k:
        ids.add(secrets.token_hex(8))  # random, not seeded: knowing the seed must not reveal an item's truth
    return sorted(ids)


def _retire(quiz: Path) -> dict | None:
    """Remove the current pool's pictures (prepare() allows it only with force) and move its answers to
    quiz/archive/ (answers with no pool belong to an older one and are kept the same way). What was moved,
    or None. An answer racing this move lands in the archive: it was checked against the old pool."""
    import fcntl

    old_id = None
    try:
        old = json.loads((quiz / POOL_FILE).read_text())
        old_id = old.get("id") if isinstance(old, dict) and ITEM_ID.fullmatch(str(old.get("id"))) else None
    except (OSError, ValueError):
        pass
    moved: dict = {}
    answers = quiz / ANSWERS_FILE
    if answers.exists():
        fd = os.open(answers, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the web server appends under this lock: move the file whole
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            target = quiz / "archive" / f"answers-{old_id or 'unknown'}-{stamp}.jsonl"
            target.parent.mkdir(exist_ok=True)
            answers.rename(target)
            moved["answers_archived_to"] = str(target.relative_to(quiz.parent))
        finally:
            os.close(fd)
    if (quiz / POOL_IMAGES).exists():  # prepare() refused it already unless force was given
        shutil.rmtree(quiz / POOL_IMAGES)
    if old_id:
        moved["id"] = old_id
    return moved or None
