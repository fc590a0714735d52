"""An ALI step against a GAN step with the same G and D (issue #15), and the ALI presets' speed and memory.

    .venv/bin/python benchmarks/ali_step.py [--steps 30] [--threads 1] [--presets ring8-ali grid25-ali:k=v,k=v ...]

Each measurement runs in a fresh process (translation_step.measure: a few warm-up steps, then --steps
timed steps of CPU time, one thread, and the process's peak RSS). The GAN side is the `gan` game on the
ALI preset's data with the preset's G and its D's settings (the same conv or MLP body); ALI adds the
encoder E (the size of D's body), the z branch and joint layers of D, and D judges two batches of pairs
in the EG phase where a GAN's G phase judges one batch of fakes. A preset may carry ALI overrides after a
colon (grid25-ali:nets.D.arch=concat,game.cycle_x=0.1); the GAN side takes the overridden nets too.
"""
from __future__ import annotations

import argparse

from translation_step import measure

PRESETS = ("ring8-ali", "grid25-ali", "fashion-ali")
# joint D's made of the MLP D's body (z joined to its input, or a z branch and an inner product): their GAN
# twin is that MLP D
GAN_TWIN = {"concat": "mlp", "projection": "mlp"}


def gan_with_the_same_nets(preset: str, nets: list[str] | None = None) -> list[str]:
    """The gan game on an ALI preset's data, G and D settings (no encoder, a plain D of the same body);
    `nets` are overrides of the preset's nets (nets.D.arch=concat), applied before the translation."""
    import gankit  # noqa: F401
    from gankit import presets
    from gankit.config import parse_overrides

    _, values = presets.resolve(preset)
    for key, value in parse_overrides(nets or []).get("nets", {}).items():
        if isinstance(value, dict):
            values["nets"].setdefault(key, {}).update(value)
        else:
            values["nets"][key] = value
    sets = ["game.name=gan", "game.loss=ns", f"nets.z_dim={values['nets']['z_dim']}"]
    for player in ("G", "D"):
        sets += [f"nets.{player}.{k}={GAN_TWIN.get(v, v) if k == 'arch' else v}"
                 for k, v in values["nets"][player].items() if k != "dropout"]
        sets += [f"optim.{player}.{k}={v}" for k, v in values.get("optim", {}).get(player, {}).items()]
    return sets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = parser.parse_args()
    print(f"{'preset':<16} {'batch':>5} {'ALI CPU ms/step':>16} {'img/CPU-s':>10} {'peak RSS MB':>12} "
          f"{'GAN ms/step':>12} {'ALI / GAN':>10}")
    for spec in args.presets:
        preset, _, extra = spec.partition(":")
        sets = [kv for kv in extra.split(",") if kv]
        nets = [kv for kv in sets if kv.startswith("nets.") and not kv.startswith("nets.E.")]
        shared = [kv for kv in sets if kv.split(".")[0] in ("train", "data")]  # the same on both sides
        ali = measure(preset, args.steps, args.threads, sets)
        gan = measure(preset, args.steps, args.threads, gan_with_the_same_nets(preset, nets) + shared)
        if extra:
            print(f"{preset} with {extra}:")
        print(f"{preset:<16} {ali['batch']:>5} {ali['ms']:>16.1f} {ali['img_s']:>10.1f} {ali['rss_mb']:>12.0f} "
              f"{gan['ms']:>12.1f} {ali['ms'] / gan['ms']:>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
