"""Folders larger than memory (#17): the decode-once cache, and training from it vs from memory.

    .venv/bin/python benchmarks/memmap_folder.py [--n 200000] [--dir DIR] [--steps 200] [--threads 1 2]

1. Generates, once, a folder of N 64x64 PNGs (random ellipses, boxes and triangles in random colours,
   drawn with Pillow on every core) in DIR (default /tmp/gankit-bench-folder-N); a later call with
   the same N reuses it. Prints the time.
2. Decodes it into a fresh cache (data.cache=memmap, GANKIT_CACHE=--cache) and prints the time, then
   the time of a second load, which maps the cache without decoding.
3. For each thread count, trains folder-dcgan (64x64, batch 64) for --steps steps in fresh child
   processes, alternating in-memory and memmap (ABAB, --repeats times; medians), and prints images/s
   (generator steps x batch / s) and each child's peak RSS (ru_maxrss) with its anonymous and
   file-backed parts at the end. The in-memory child reads the cache file into RAM rather than
   decoding the folder again: the same bytes as data.cache=memory (tests/test_folder_memmap.py checks
   this bit for bit) without minutes of decoding per child. --memory-n trains the in-memory child on
   the first images only, for a machine whose RAM does not hold the set.

Targets (issue #17): memmap >= 90% of in-memory images/s; peak RSS of the memmap run < 1.5 GB.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIDE = 64


def _draw_range(args: tuple[str, int, int]) -> int:
    """Draw images start..stop-1 into folder (seeded by index: the same folder on every machine)."""
    import numpy as np
    from PIL import Image, ImageDraw

    folder, start, stop = args
    for i in range(start, stop):
        rng = np.random.default_rng(i)
        img = Image.new("RGB", (SIDE, SIDE), tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 5))):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            x0, y0 = (int(v) for v in rng.integers(-8, SIDE - 8, 2))
            w, h = (int(v) for v in rng.integers(8, 40, 2))
            kind = int(rng.integers(0, 3))
            if kind == 0:
                draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
            elif kind == 1:
                draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
            else:
                draw.polygon([(x0, y0 + h), (x0 + w // 2, y0), (x0 + w, y0 + h)], fill=colour)
        img.save(f"{folder}/{i:07d}.png", compress_level=1)  # fast to write; decoding cost is what we measure
    return stop - start


def generate(folder: Path, n: int) -> None:
    done = folder / f".complete-{n}"
    if done.exists():
        print(f"folder: {folder} ({n} PNGs) exists, reused")
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cores = len(os.sched_getaffinity(0))
    chunks = [(str(folder), s, min(n, s + 1000)) for s in range(0, n, 1000)]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        made = 0
        for k in pool.imap_unordered(_draw_range, chunks):
            made += k
            print(f"\r  drawing {made}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    size = sum(f.stat().st_size for f in folder.iterdir())
    done.touch()
    print(f"folder: generated {n} 64x64 PNGs in {folder} ({size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s "
          f"on {cores} cores")


def _config(folder: Path, threads: int):
    from gankit import config as C
    from gankit import presets

    _, values = presets.resolve("folder-dcgan")
    return C.build(values, C.parse_overrides([f"data.path={folder}", "data.resolution=64", "data.cache=memmap",
                                              "train.batch_size=64", f"train.threads={threads}",
                                              "train.progress=false"]))


def build_cache(folder: Path, cache: Path) -> None:
    os.environ["GANKIT_CACHE"] = str(cache)
    shutil.rmtree(cache / "folders", ignore_errors=True)  # a cold build
    from gankit.train.loop import load_data

    cfg = _config(folder, 0)
    start = time.perf_counter()
    data = load_data(cfg)
    build = time.perf_counter() - start
    start = time.perf_counter()
    load_data(cfg)
    again = time.perf_counter() - start
    x = data.fields["x"]
    print(f"cache: decoded {len(data)} images ({x.numel() / 1e9:.2f} GB uint8) in {build:.1f} s on "
          f"{len(os.sched_getaffinity(0))} cores; a second load (no decoding) took {again:.2f} s")


def child(spec: dict) -> None:
    """One measurement in this fresh process: prints a JSON line."""
    os.environ["GANKIT_CACHE"] = spec["cache"]
    import tempfile

    import torch

    from gankit.train.loop import Trainer, load_data

    cfg = _config(Path(spec["folder"]), spec["threads"])
    data = load_data(cfg)
    if spec["mode"] == "memory":  # the cache's bytes read into RAM (not through the mapping): an ordinary field
        import numpy as np

        from gankit.data.base import TensorData

        n = spec["memory_n"] or len(data)
        (u8,) = Path(spec["cache"]).glob("folders/*/*.u8")
        x = torch.from_numpy(np.fromfile(u8, np.uint8, count=n * 3 * 64 * 64).reshape(n, 3, 64, 64))
        assert torch.equal(x[:100], data.fields["x"][:100])
        data = TensorData.labelled(x, source=data.source)
        del x  # the trainer's move to channels_last copies it; the loaded copy is then freed, as in a real run
    trainer = Trainer(cfg, Path(tempfile.mkdtemp()) / "run", data=data)
    for _ in range(3):  # warm-up: allocator, mkldnn primitives
        trainer.train_step()
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        trainer.train_step()
    seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text()
    field = {k: int(status.split(f"{k}:")[1].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}
    print(json.dumps({"img_per_s": 64 * spec["steps"] / seconds, "n": len(data),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **field}))


def measure(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": str(spec["threads"])})
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/gankit-bench-cache"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--memory-n", type=int, default=0, help="in-memory child: first N images only (0 = all)")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    folder = args.dir or Path(f"/tmp/gankit-bench-folder-{args.n}")
    generate(folder, args.n)
    build_cache(folder, args.cache)
    for threads in args.threads:
        runs: dict[str, list[dict]] = {"memory": [], "memmap": []}
        for _ in range(args.repeats):
            for mode in runs:
                runs[mode].append(measure({"mode": mode, "folder": str(folder), "cache": str(args.cache),
                                           "threads": threads, "steps": args.steps, "memory_n": args.memory_n}))
        med = {m: statistics.median(r["img_per_s"] for r in rs) for m, rs in runs.items()}
        for mode, rs in runs.items():
            print(f"{threads} thread(s), {mode:6s} ({rs[0]['n']} images): {med[mode]:6.1f} img/s "
                  f"(runs {', '.join(format(r['img_per_s'], '.1f') for r in rs)}); peak RSS "
                  f"{max(r['peak_rss_mb'] for r in rs):.0f} MB (at the end: anon {rs[-1]['RssAnon']:.0f} MB, "
                  f"file-backed {rs[-1]['RssFile']:.0f} MB)")
        print(f"{threads} thread(s): memmap / memory = {med['memmap'] / med['memory']:.3f}")


if __name__ == "__main__":
    main()
