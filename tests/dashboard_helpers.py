"""Helpers of the dashboard tests: synthetic run directories, and a `gankit dashboard` process on a free port."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from PIL import Image


def fake_run(root: Path, name: str, rows: int = 50, samples: int = 3, game: str = "gan", data: str = "ring8",
             scores: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> Path:
    """A run directory as training leaves it (config, metrics, sample grids, a checkpoint record), no torch."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    cfg = {"seed": 0, "data": {"name": data}, "game": {"name": game}, "train": {"steps": rows * 10}}
    (run / "config.toml").write_text(tomli_w.dumps(cfg))
    with (run / "metrics.jsonl").open("w") as fh:
        for i in range(1, rows + 1):
            fh.write(json.dumps({"step": 10 * i, "time": 0.5 * i, "loss_D": 1.4 - i / rows, "loss_G": 0.7 + i / rows,
                                 "D(x)": 0.5 + 0.2 / i, "D(G(z))": 0.5 - 0.2 / i, "img_per_s": 1000.0}) + "\n")
    for k in range(samples):
        shade = int(255 * k / max(samples - 1, 1))
        Image.fromarray(np.full((32, 32, 3), shade, np.uint8)).save(run / "samples" / f"step-{1000 * k:08d}.png")
    (run / "checkpoints" / f"step-{rows * 10:08d}.json").write_text("{}")
    (run / "checkpoints" / f"step-{rows * 10:08d}.safetensors").write_bytes(b"0" * 1000)
    if scores is not None:
        (run / "scores.json").write_text(json.dumps({"schema": "gankit-scores/1", "train": scores}))
    if status is not None:
        (run / "status.json").write_text(json.dumps(status))
    return run


class Dashboard:
    """`gankit dashboard ROOT --port 0` in a subprocess; `url` is where it listens."""

    def __init__(self, root: Path, *extra: str) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "gankit", "dashboard", str(root), "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("dashboard: "):
            self.close()
            raise RuntimeError(f"dashboard did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split()[1].rstrip("/")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        return self.request("GET", path, None, headers)

    def post(self, path: str, value: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = json.dumps(value).encode() if not isinstance(value, bytes) else value
        status, raw, _ = self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None):  # noqa: ANN201
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def json(self, path: str) -> Any:
        status, raw, _ = self.get(path)
        assert status == 200, (status, raw[:300])
        return json.loads(raw)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def rss_mb(self) -> float:
        """Resident memory of the server process now (VmRSS), in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def wait_for(predicate: Any, timeout: float = 60.0, every: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
