"""Speed and memory of the translation presets, and a CycleGAN step against a pix2pix step (issue #14).

    .venv/bin/python benchmarks/translation_step.py [--steps 30] [--threads 1]

Each preset runs in a fresh process (so its peak memory is its own): data loaded, a few warm-up steps,
then --steps timed steps. Times are this process's CPU time (one thread: CPU seconds = core seconds,
whatever else the machine runs). Printed per preset: CPU ms per step, images per CPU-second (batch /
step time) and the peak resident memory of the process (ru_maxrss).

The step ratio compares the two games on the same nets and data (the shapes-labels2img-pix2pix preset's
data and batch; its U-Net G and PatchGAN D, then the CycleGAN presets' smaller U-Net and PatchGAN, used for
G, F and D_X, D_Y): a CycleGAN step runs two generators and two discriminators, plus the cycle passes and
(identity > 0) the identity passes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

PRESETS = ("shapes-labels2img-pix2pix", "fashion-edges2img-pix2pix", "shapes-labels2img-cyclegan",
           "shapes-recolor-cyclegan", "fashion-sneaker2boot-cyclegan")
P2P = "shapes-labels2img-pix2pix"


CYC = "shapes-labels2img-cyclegan"


def nets_tables(source: str) -> tuple[dict, dict]:
    """The generator and discriminator tables of a preset (a CycleGAN preset's G and D_Y)."""
    import gankit  # noqa: F401
    from gankit import presets

    _, values = presets.resolve(source)
    nets = values["nets"]
    return nets["G"], nets.get("D", nets.get("D_Y"))


def game_on_nets(game: str, source: str, identity: str = "0") -> list[str]:
    """`game` (pix2pix or cyclegan) on the pix2pix preset's data, with the nets of preset `source`."""
    g, d = nets_tables(source)
    if game == "pix2pix":
        sets, players = ["game.name=pix2pix"], (("G", g), ("D", d))
    else:
        sets = ["game.name=cyclegan", "data.paired=false", "game.loss=ns", f"game.identity={identity}"]
        players = (("G", g), ("F", g), ("D_X", d), ("D_Y", d))
    for player, table in players:
        sets += [f"nets.{player}.{k}={v}" for k, v in table.items()]
    return sets


CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
import torch
import gankit
from gankit import config as C, presets
from gankit.train.loop import Trainer
preset, steps, threads, sets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
_, values = presets.resolve(preset)
if any(s.startswith("game.name=") for s in sets):  # another game on this preset's data and nets: its own tables
    values.pop("game", None); values["nets"] = {k: v for k, v in values["nets"].items() if not isinstance(v, dict)}
    values.pop("optim", None)
cfg = C.build(values, C.parse_overrides([*sets, "train.progress=false"]))
trainer = Trainer(cfg, Path(tempfile.mkdtemp()) / "run")
for _ in range(3):
    trainer.train_step()
t = time.process_time()
for _ in range(steps):
    trainer.train_step()
ms = 1000 * (time.process_time() - t) / steps
print(json.dumps({"ms": ms, "img_s": cfg.train.batch_size / ms * 1000, "batch": cfg.train.batch_size,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(preset: str, steps: int, threads: int, sets: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(steps), str(threads), json.dumps(sets)],
                         check=True, capture_output=True, text=True, env={"OMP_NUM_THREADS": str(threads),
                                                                          **__import__("os").environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = parser.parse_args()
    print(f"{'preset':<32} {'batch':>5} {'CPU ms/step':>12} {'img/CPU-s':>10} {'peak RSS MB':>12}")
    for preset in args.presets:
        r = measure(preset, args.steps, args.threads, [])
        print(f"{preset:<32} {r['batch']:>5} {r['ms']:>12.1f} {r['img_s']:>10.1f} {r['rss_mb']:>12.0f}", flush=True)
    # The ratio depends on how much D costs against G, so it is measured on two sets of nets: the pix2pix
    # preset's (a 4 M-parameter U-Net against a 37 k PatchGAN) and the CycleGAN presets' (a width-16 U-Net).
    for source in (P2P, CYC):
        base = measure(P2P, args.steps, args.threads, [] if source == P2P else game_on_nets("pix2pix", source))
        for identity in ("0", "0.5"):
            cyc = measure(P2P, args.steps, args.threads, game_on_nets("cyclegan", source, identity))
            print(f"cyclegan / pix2pix step, {source}'s nets, batch {base['batch']}, identity {identity}: "
                  f"{cyc['ms']:.1f} / {base['ms']:.1f} ms = {cyc['ms'] / base['ms']:.2f}x", flush=True)

if __name__ == "__main__":
    main()
