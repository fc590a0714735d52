"""The dashboard's HTTP side: what it lists and serves, what it refuses (traversal, hosts, writes), how it binds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dashboard_helpers import Dashboard, fake_run


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    fake_run(root, "ring8-a", rows=30, scores={"modes": 8, "high_quality": 0.93})
    fake_run(root, "group/fashion-b", rows=5000, game="gan", data="fashion-mnist", scores={"fid": 12.5})
    outside = tmp_path_factory.mktemp("outside")
    fake_run(outside, "secret-run")
    (outside / "passwd").write_text("secret")
    os.symlink(outside / "secret-run", root / "linked-run")  # a link out of RUNS_DIR: never listed or served
    os.symlink(outside / "passwd", root / "ring8-a" / "samples" / "step-99999999.png")
    with Dashboard(root) as dash:
        yield dash, root


def test_binds_to_loopback_by_default(served) -> None:
    dash, _ = served
    assert dash.url.startswith("http://127.0.0.1:")


def test_runs_list_reads_the_run_directories(served) -> None:
    dash, _ = served
    runs = {r["name"]: r for r in dash.json("/api/runs")}
    assert set(runs) == {"ring8-a", "group/fashion-b"}  # the linked run outside RUNS_DIR is not listed
    a = runs["ring8-a"]
    assert (a["step"], a["steps"], a["elapsed_s"]) == (300, 300, 15.0)
    assert a["scores"] == {"modes": 8, "high_quality": 0.93}
    assert a["status"] == "finished"  # no status.json, but scores.json has a train section
    assert runs["group/fashion-b"]["scores"] == {"fid": 12.5}


def test_metrics_are_thinned_then_sent_incrementally(served) -> None:
    dash, root = served
    m = dash.json("/api/metrics?run=group/fashion-b&since=0")
    assert m["total"] == 5000 and len(m["columns"]["step"]) <= 2000
    assert m["columns"]["step"][-1] == 50000  # the last row is always kept
    assert {"loss_D", "loss_G", "D(x)", "D(G(z))", "img_per_s"} <= set(m["keys"])
    with (root / "group/fashion-b/metrics.jsonl").open("a") as fh:
        fh.write(json.dumps({"step": 50010, "loss_D": 0.1}) + "\n" + '{"step": 500')  # a torn last line
    new = dash.json(f"/api/metrics?run=group/fashion-b&since=5000&gen={m['generation']}")
    assert new["total"] == 5001 and new["columns"]["step"] == [50010] and new["columns"]["loss_D"] == [0.1]


def test_a_resume_marker_makes_clients_read_everything_again(served, tmp_path: Path) -> None:
    dash, root = served
    run = fake_run(root, "resumed", rows=10)
    first = dash.json("/api/metrics?run=resumed&since=0")
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write(json.dumps({"resumed_at": 50}) + "\n" + json.dumps({"step": 60, "loss_D": 9.0}) + "\n")
    again = dash.json(f"/api/metrics?run=resumed&since={first['total']}&gen={first['generation']}")
    assert again["since"] == 0 and again["columns"]["step"] == [10, 20, 30, 40, 50, 60]


def test_run_page_data(served) -> None:
    dash, _ = served
    info = dash.json("/api/run?run=ring8-a")
    assert [s["step"] for s in info["samples"]] == [0, 1000, 2000, 99999999]
    assert info["checkpoints"] == [{"step": 300, "bytes": 1000, "modified": info["checkpoints"][0]["modified"]}]
    assert 'name = "ring8"' in info["config"]
    status, body, headers = dash.get("/api/file?run=ring8-a&path=samples/step-00001000.png")
    assert status == 200 and body[:4] == b"\x89PNG" and headers["content-type"] == "image/png"


@pytest.mark.parametrize("query", [
    "/api/run?run=../outside", "/api/run?run=/etc", "/api/run?run=linked-run", "/api/run?run=ring8-a/..",
    "/api/run?run=", "/api/run?run=ring8-a%00", "/api/metrics?run=..%2F..%2Fetc",
    "/api/file?run=ring8-a&path=../../passwd", "/api/file?run=ring8-a&path=/etc/passwd",
    "/api/file?run=ring8-a&path=samples/../config.toml", "/api/file?run=ring8-a&path=checkpoints/step-00000300.json",
    "/api/file?run=ring8-a&path=samples/step-99999999.png", "/api/file?run=linked-run&path=config.toml",
])
def test_traversal_is_refused(served, query: str) -> None:
    dash, _ = served
    status, body, _ = dash.get(query)
    assert status == 404, (query, body)
    assert b"secret" not in body


def test_other_host_names_are_refused(served) -> None:
    dash, _ = served  # a page of evil.example, its name pointed at 127.0.0.1 (DNS rebinding), is not answered
    status, _, _ = dash.get("/api/runs", headers={"Host": "evil.example"})
    assert status == 400
    assert dash.get("/api/runs", headers={"Host": "localhost"})[0] == 200


def test_pages_say_load_nothing_from_elsewhere(served) -> None:
    dash, _ = served
    for page in ("/", "/run?run=ring8-a", "/compare", "/quiz?run=ring8-a"):
        status, body, headers = dash.get(page)
        assert status == 200 and b"<html" in body
        assert "default-src 'self'" in headers["content-security-policy"]
        assert b"http://" not in body and b"https://" not in body
    status, _, headers = dash.get("/static/vendor/uplot/uPlot.iife.min.js")
    assert status == 200


def test_control_without_the_token_is_refused(served) -> None:
    dash, root = served
    assert dash.post("/api/control?run=ring8-a", {"token": "x", "command": "pause"})[0] == 403  # no --control
    assert not (root / "ring8-a" / "control.json").exists()
    assert dash.post("/api/control?run=ring8-a", b"{}", {"Content-Type": "text/plain"})[0] == 415
    assert dash.post("/api/control?run=ring8-a", b"x" * 20000)[0] == 413
    status, _ = dash.post("/api/control?run=ring8-a", {"token": "x", "command": "pause"},
                          {"Origin": "http://evil.example"})
    assert status == 403


def test_another_host_warns_and_a_taken_port_is_one_line(tmp_path: Path) -> None:
    fake_run(tmp_path, "r")
    with Dashboard(tmp_path, "--host", "0.0.0.0") as dash:
        port = dash.url.rsplit(":", 1)[1]
        out = subprocess.run([sys.executable, "-m", "gankit", "dashboard", str(tmp_path), "--port", port],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "cannot listen" in out.stderr
        dash.proc.terminate()
        warning = dash.proc.stderr.read()
    assert "reachable from other machines" in warning


def test_bad_runs_dir_is_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "gankit", "dashboard", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not a directory" in out.stderr


def _fake_pool(run: Path, n: int = 30) -> dict:
    """A quiz pool as gankit quiz-prepare leaves it (schema gankit-quiz-pool/1), pictures included."""
    import numpy as np
    from PIL import Image

    items = [{"id": f"{k:016x}", "truth": "real" if k % 2 else "fake"} for k in range(2 * n)]
    (run / "quiz" / "pool").mkdir(parents=True)
    for it in items:
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(run / "quiz" / "pool" / f"{it['id']}.png")
    pool = {"schema": "gankit-quiz-pool/1", "id": "0123456789abcdef", "kind": "images", "items": items}
    (run / "quiz" / "pool.json").write_text(json.dumps(pool))
    return pool


def test_quiz_input_is_validated_and_the_truth_never_served(served) -> None:
    dash, root = served
    run = fake_run(root, "quizzed")
    _fake_pool(run)
    assert dash.json("/api/quiz/info?run=quizzed")["prepared"] is True
    status, body = dash.post("/api/quiz/start?run=quizzed", {"name": "Ada</script>", "protocol": "hype-inf"})
    assert status == 400 and "name" in body["error"]
    assert dash.post("/api/quiz/start?run=quizzed", {"name": "x" * 41, "protocol": "hype-inf"})[0] == 400
    assert dash.post("/api/quiz/start?run=quizzed", {"name": "Ada", "protocol": "nope"})[0] == 400
    assert dash.post("/api/quiz/start?run=quizzed", b"{" + b" " * 17000 + b"}")[0] == 413
    status, plan = dash.post("/api/quiz/start?run=quizzed", {"name": "Ada Lovelace", "protocol": "timed"})
    assert status == 200 and len(plan["trials"]) == 50 and "truth" not in json.dumps(plan)
    first = {"name": "Ada Lovelace", "protocol": "timed", "exposure_ms": 1000, "session_seed": plan["session_seed"],
             "trial": 0, "response_ms": 800, "pool": plan["pool"]}
    assert dash.post("/api/quiz/answer?run=quizzed", {**first, "answer": "maybe"})[0] == 400
    status, r = dash.post("/api/quiz/answer?run=quizzed", {**first, "answer": "real"})
    assert status == 200 and r["feedback"] in ("real", "fake")  # a practice trial: feedback
    assert dash.post("/api/quiz/answer?run=quizzed", {**first, "answer": "real"})[0] == 400  # a replay
    assert dash.post("/api/quiz/answer?run=quizzed", {**first, "trial": 50, "answer": "real"})[0] == 400
    scored = {**first, "trial": 10, "answer": "fake"}
    assert dash.post("/api/quiz/answer?run=quizzed", scored)[1]["feedback"] is None  # scored: no feedback
    item = plan["trials"][0]["item"]
    assert dash.get(f"/api/quiz/item?run=quizzed&item={item}")[0] == 200
    for bad in ("../pool", "0123456789abcdex", "ffffffffffffffff"):
        assert dash.get(f"/api/quiz/item?run=quizzed&item={bad}")[0] == 400
    for path in ("quiz/pool.json", "quiz/answers.jsonl", f"quiz/pool/{item}.png"):
        assert dash.get(f"/api/file?run=quizzed&path={path}")[0] == 404
    lines = (run / "quiz" / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 2
    report = dash.json("/api/quiz/report?run=quizzed")
    assert report["trials"] == 1 and report["participants"] == 1


def test_the_server_never_loads_torch_or_training_code(served) -> None:
    dash, _ = served
    dash.json("/api/runs")
    dash.json("/api/run?run=ring8-a")
    maps = Path(f"/proc/{dash.proc.pid}/maps").read_text()
    assert "libtorch" not in maps  # after serving pages: no torch in the process
    code = ("import sys, gankit.cli, gankit.dashboard.app, gankit.dashboard.server, gankit.dashboard.quiz_routes; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('gankit.train', 'gankit.games'))]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
