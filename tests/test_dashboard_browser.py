"""The dashboard end to end in a real headless browser (Debian's chromium, driven by Playwright), over runs
that this test trains: the runs list, live curves (their chart data), the sample timeline, the 2D view
animating while a toy run trains, pause and step through --control, a quiz session and its scores; and
throughout, no request leaves 127.0.0.1 and the browser console stays free of errors.

Screenshots of every page are written to $GANKIT_SCREENSHOTS when it is set (docs/dashboard/ holds them).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dashboard_helpers import Dashboard, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium: make browser")]
playwright = pytest.importorskip("playwright.sync_api")
TOY = ["--set", "data.n_samples=2000", "--set", "train.batch_size=64", "--set", "train.log_every=20",
       "--set", "train.sample_every=100", "--set", "train.ckpt_every=200", "--set", "eval.n_samples=500",
       "--set", "train.threads=1", "--set", "train.progress=false"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
# Chromium as the machine facts say: no background traffic of its own, so the request log is the page's.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]


def gankit(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True, env=ENV,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    gankit("train", "ring8-gan", "--out", str(root / "toy-done"), "--steps", "400", "--set", "train.live_every=20", *TOY)
    gankit("quiz-prepare", str(root / "toy-done"), "--n", "30")
    live = subprocess.Popen([sys.executable, "-m", "gankit", "train", "ring8-gan", "--control", "--out",
                             str(root / "toy-live"), "--steps", "1000000", "--set", "train.live_every=10", *TOY],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    token = None
    for line in live.stdout:
        m = re.search(r"control token: (\S+)", line)
        if m:
            token = m.group(1)
            break
    assert token, live.stderr.read() if live.poll() is not None else "no token printed"
    dash = Dashboard(root)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        log = {"requests": [], "errors": []}
        context.on("request", lambda r: log["requests"].append(r.url))
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and log["errors"].append(f"{m.text} @ {m.location.get('url')}"))
        page.on("pageerror", lambda e: log["errors"].append(str(e)))
        try:
            yield {"root": root, "dash": dash, "page": page, "log": log, "token": token, "live": live}
        finally:
            browser.close()
            dash.close()
            live.send_signal(signal.SIGTERM)
            try:
                live.wait(60)
            except subprocess.TimeoutExpired:
                live.kill()


def shot(page, name: str) -> None:
    where = os.environ.get("GANKIT_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)


def test_runs_list_shows_the_trained_runs(world) -> None:
    page, dash = world["page"], world["dash"]
    page.goto(dash.url + "/")
    page.wait_for_selector('tr[data-run="toy-live"] .badge.running')
    assert page.locator('tr[data-run="toy-done"] .badge').inner_text() == "finished"
    done = page.locator('tr[data-run="toy-done"]').inner_text()
    assert "ring8-gan" in done and "modes" in done  # the preset it was made from, and its scores
    step0 = int(page.locator('tr[data-run="toy-live"] td.step').inner_text().split()[0])
    wait_for(lambda: int(page.locator('tr[data-run="toy-live"] td.step').inner_text().split()[0]) > step0, 30)
    page.fill("#filter", "done")
    assert page.locator("#runs tbody tr").count() == 1
    page.fill("#filter", "")
    page.click('th[data-key="step"]')
    shot(page, "runs-list")


def test_curves_render_with_data_and_the_slider_changes_the_image(world) -> None:
    page, dash = world["page"], world["dash"]
    page.goto(dash.url + "/run?run=toy-done")
    page.wait_for_function("() => window.gankit.charts.losses && window.gankit.charts.losses.data[0].length >= 20")
    losses = page.evaluate("() => window.gankit.charts.losses.data")
    rows = [json.loads(l) for l in (world["root"] / "toy-done" / "metrics.jsonl").read_text().splitlines()]
    assert losses[0] == [r["step"] for r in rows if "step" in r]  # the chart holds the file's rows
    assert page.evaluate("() => window.gankit.charts.verdicts.series.map(s => s.label)")[1:] == ["D(x)", "D(G(z))"]
    first = page.get_attribute("#sample", "src")
    page.locator("#slider").fill("0")
    wait_for(lambda: page.get_attribute("#sample", "src") != first, 10)
    assert page.get_attribute("#sample", "data-step") == "0"
    page.wait_for_function("() => document.getElementById('sample').naturalWidth > 0")
    page.wait_for_selector("#plane[data-seq]")  # a finished toy run shows its last snapshot too
    shot(page, "run-page")


def test_the_2d_view_animates_while_training_and_control_pauses_and_steps(world) -> None:
    page, dash, root = world["page"], world["dash"], world["root"]
    page.goto(dash.url + "/run?run=toy-live")
    page.wait_for_selector("#plane[data-seq]")
    seqs = {page.get_attribute("#plane", "data-seq")}
    pixels = {page.evaluate("() => document.getElementById('plane').toDataURL()")}
    wait_for(lambda: seqs.add(page.get_attribute("#plane", "data-seq")) or len(seqs) >= 3, 60)
    pixels.add(page.evaluate("() => document.getElementById('plane').toDataURL()"))
    assert len(pixels) == 2  # the picture itself changed, not only its counter
    shot(page, "live-2d")
    # a wrong token is refused; the right one pauses the run
    page.fill("#token", "not-the-token")
    page.click("#pause")
    wait_for(lambda: "refused" in page.inner_text("#control-msg"), 10)
    page.fill("#token", world["token"])
    page.click("#pause")
    wait_for(lambda: json.loads((root / "toy-live" / "status.json").read_text()).get("paused"), 30)
    time.sleep(1.0)
    steps = dash.json("/api/live?run=toy-live&list=1")["steps"]
    time.sleep(1.5)
    assert dash.json("/api/live?run=toy-live&list=1")["steps"] == steps  # paused: no new step
    page.click('button[data-phase="D"]')
    wait_for(lambda: "D by hand" in page.inner_text("#live-step"), 30)
    page.click('button[data-phase="G"]')
    wait_for(lambda: "D, G by hand" in page.inner_text("#live-step"), 30)
    assert dash.json("/api/live?run=toy-live&list=1")["steps"][-1] == steps[-1]  # no global step taken
    page.click("#resume")
    wait_for(lambda: dash.json("/api/live?run=toy-live&list=1")["steps"][-1] > steps[-1], 30)


def test_a_quiz_session_records_answers_and_reports_their_rate(world) -> None:
    page, dash, root = world["page"], world["dash"], world["root"]
    page.goto(dash.url + "/quiz?run=toy-done")
    page.wait_for_selector("#start:not([disabled])")
    shot(page, "quiz-start")
    page.fill("#name", "Ada")
    page.select_option("#protocol", "hype-inf")
    page.click("#start")
    page.wait_for_function("() => window.gankit.quiz.session !== null")
    n = page.evaluate("() => window.gankit.quiz.session.trials.length")
    assert n == 50
    for k in range(n):
        page.wait_for_selector(f'#picture[data-trial="{k}"]')
        page.wait_for_function("() => !document.getElementById('say-real').disabled")
        if k == 12:
            shot(page, "quiz-trial")
        page.click("#say-real" if k % 3 else "#say-fake")
    page.wait_for_function("() => window.gankit.quiz.done && window.gankit.quizReport")
    shot(page, "quiz-results")
    answers = [json.loads(l) for l in (root / "toy-done" / "quiz" / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 50 and {a["participant"] for a in answers} == {"Ada"}
    scored = [a for a in answers if not a["practice"]]
    fakes = [a for a in scored if a["truth"] == "fake"]
    reals = [a for a in scored if a["truth"] == "real"]
    fooling = sum(a["answer"] == "real" for a in fakes) / len(fakes)
    real_acc = sum(a["answer"] == "real" for a in reals) / len(reals)
    report = page.evaluate("() => window.gankit.quizReport")
    assert report["fooling_rate"]["value"] == pytest.approx(fooling)
    assert report["real_accuracy"]["value"] == pytest.approx(real_acc)
    assert report["hype_inf"]["value"] == pytest.approx((fooling + 1 - real_acc) / 2)
    shown = page.inner_text('tr[data-protocol="all"] td.fooling')
    assert shown.startswith(f"{100 * fooling:.1f}%")
    cli = json.loads(gankit("quiz-report", str(root / "toy-done"), "--json").stdout)
    assert cli["runs"][0]["scores"]["fooling_rate"]["value"] == pytest.approx(fooling)
    # the timed protocol: the picture goes after its exposure, the answer still counts, practice gets feedback
    page.goto(dash.url + "/quiz?run=toy-done")
    page.wait_for_selector("#start:not([disabled])")
    page.fill("#name", "Bob")
    page.select_option("#protocol", "timed")
    page.fill("#exposure", "300")
    page.click("#start")
    page.wait_for_function("() => window.gankit.quiz.session !== null")
    assert page.evaluate("() => window.gankit.quiz.session.protocol.exposure_ms") == 300
    page.wait_for_function("() => document.getElementById('picture').style.visibility === 'hidden'", timeout=5000)
    page.click("#say-fake")
    page.wait_for_function("() => document.getElementById('feedback').textContent.includes('it was')")
    bob = [json.loads(l) for l in (root / "toy-done" / "quiz" / "answers.jsonl").read_text().splitlines()][-1]
    assert (bob["participant"], bob["protocol"], bob["exposure_ms"], bob["answer"]) == ("Bob", "timed", 300, "fake")


def test_compare_overlays_runs(world) -> None:
    page, dash = world["page"], world["dash"]
    page.goto(dash.url + "/compare?run=toy-done&run=toy-live")
    page.wait_for_function("() => window.gankit.charts.overlay && window.gankit.charts.overlay.data.length === 3")
    data = page.evaluate("() => window.gankit.charts.overlay.data")
    assert all(any(v is not None for v in series) for series in data[1:])
    assert page.locator(".grids figure img").count() == 2
    shot(page, "compare")


def test_nothing_left_127_0_0_1_and_the_console_stayed_clean(world) -> None:
    requests, errors = world["log"]["requests"], world["log"]["errors"]
    assert requests, "the browser made no requests"
    outside = [u for u in requests if not (u.startswith("http://127.0.0.1:") or u.startswith("data:"))]
    assert outside == []
    # the one error the tests cause on purpose: the wrong token's refused control request
    assert [e for e in errors if not ("403" in e and "/api/control?run=toy-live" in e)] == []
    assert len(errors) <= 1
