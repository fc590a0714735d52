"""The dashboard's web app (Starlette): pages and a small JSON API over the run directories in RUNS_DIR.

It reads run directories and writes exactly two kinds of file: RUN/control.json (pause / step, only with
the run's token; gankit.live.control) and RUN/quiz/answers.jsonl (gankit.quiz.protocol). It never imports
torch or training code. Every name in a request goes through dashboard.paths first.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gankit.dashboard import paths
from gankit.dashboard.paths import Refused
from gankit.dashboard.requests import ApiError, read_json, run_of
from gankit.dashboard.quiz_routes import QUIZ_ROUTES
from gankit.dashboard.runs_index import RunsIndex

STATIC = Path(__file__).parent / "static"
MAX_POINTS = 2000  # a curve sent whole is thinned to this many points (the last one always kept)
TYPES = {".png": "image/png", ".gif": "image/gif", ".json": "application/json", ".html": "text/html",
         ".toml": "text/plain; charset=utf-8"}
# Pages and scripts come from this server only: nothing a page loads may leave 127.0.0.1.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"  # report.html: pictures, no scripts


# ---- pages --------------------------------------------------------------------------------------
def page(name: str):  # noqa: ANN201
    async def endpoint(request: Request) -> Response:
        return FileResponse(STATIC / name, media_type="text/html")
    return endpoint


# ---- API ----------------------------------------------------------------------------------------
async def api_runs(request: Request) -> Response:
    return JSONResponse(request.app.state.index.summaries())


def _samples(run: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted((run / "samples").glob("step-*.png")):
        try:
            out.append({"step": int(p.stem.split("-")[1]), "path": f"samples/{p.name}"})
        except (IndexError, ValueError):
            continue
    return out


def _checkpoints(run: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted((run / "checkpoints").glob("step-*.json")):
        weights = [w for w in p.parent.glob(p.stem + ".*") if w.suffix != ".json"]
        out.append({"step": int(p.stem.split("-")[1]) if p.stem.split("-")[1].isdigit() else None,
                    "bytes": sum(w.stat().st_size for w in weights), "modified": p.stat().st_mtime})
    return out


async def api_run(request: Request) -> Response:
    name, run = run_of(request)
    index: RunsIndex = request.app.state.index
    from gankit.live import control

    return JSONResponse({**index.summary(name, run), "config": (run / "config.toml").read_text(errors="replace"),
                         "samples": _samples(run), "checkpoints": _checkpoints(run),
                         "report": (run / "report.html").is_file(), "progress_gif": (run / "progress.gif").is_file(),
                         "control": {"enabled": (run / control.TOKEN_FILE).is_file(), "phases": control.phases(run)}})


def metrics_payload(cache: Any, since: int) -> dict[str, Any]:
    """Columns of rows since..end (all rows thinned to MAX_POINTS when since is 0; the last kept)."""
    idx = list(range(since, cache.n))
    if since == 0 and len(idx) > MAX_POINTS:
        stride = math.ceil(len(idx) / MAX_POINTS)
        idx = idx[::stride] + ([idx[-1]] if (len(idx) - 1) % stride else [])
    return {"total": cache.n, "keys": cache.keys(),
            "columns": {k: [None if v != v else _num(v) for v in col[idx].tolist()] for k, col in cache.columns.items()}}


def _num(v: float) -> float | int:
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


async def api_metrics(request: Request) -> Response:
    _, run = run_of(request)
    index: RunsIndex = request.app.state.index
    try:
        since, gen = int(request.query_params.get("since", 0)), int(request.query_params.get("gen", -1))
    except ValueError:
        raise ApiError(400, "since and gen are integers") from None
    cache = index.metrics(run)  # endpoints run on the event loop's one thread: no other request mutates it now
    if gen != cache.generation or not 0 <= since <= cache.n:
        since = 0  # rows were dropped since the client's last read: send everything again
    return JSONResponse({"generation": cache.generation, "since": since, **metrics_payload(cache, since)})


async def api_file(request: Request) -> Response:
    _, run = run_of(request)
    try:
        path = paths.run_file(request.app.state.root, run, request.query_params.get("path", ""))
    except Refused as exc:
        raise ApiError(404, str(exc)) from None
    media = TYPES.get(path.suffix)
    if media is None:
        raise ApiError(404, "not a file the dashboard serves")
    headers = {"Content-Security-Policy": REPORT_CSP} if path.suffix == ".html" else {}
    return FileResponse(path, media_type=media, headers=headers)


async def api_live(request: Request) -> Response:
    """A toy run's 2D snapshots: ?after=SEQ the newest one newer than SEQ (204 when none is), ?step=S the
    one of step S, ?list=1 the steps that have one."""
    _, run = run_of(request)
    from gankit.live import snapshots

    q = request.query_params
    try:
        if "list" in q:
            return JSONResponse({"steps": snapshots.list_snapshots(run)})
        if "step" in q:
            return JSONResponse(snapshots.read_snapshot(run, int(q["step"])))
        snap = snapshots.latest(run, after=int(q.get("after", -1)))
    except ValueError:
        raise ApiError(400, "after and step are integers") from None
    except FileNotFoundError:
        raise ApiError(404, "no such snapshot") from None
    return Response(status_code=204) if snap is None else JSONResponse(snap)


async def api_control(request: Request) -> Response:
    _, run = run_of(request)
    body = await read_json(request)
    from gankit.live import control

    token, command, phase = body.get("token"), body.get("command"), body.get("phase")
    if not isinstance(token, str) or not isinstance(command, str) or not (phase is None or isinstance(phase, str)):
        raise ApiError(400, "give token, command and (for step) phase as strings")
    try:
        written = control.write_command(run, token, command, phase)
    except PermissionError as exc:
        raise ApiError(403, str(exc) or "wrong token") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return JSONResponse({"ok": True, "seq": written.get("seq")})


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


class SecurityHeaders:
    """Every response says: load nothing from anywhere but this server; no sniffing; no referrer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"no-store")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(root: Path, allowed_hosts: list[str] | None = None) -> Starlette:
    """The dashboard over RUNS_DIR `root`; requests whose Host is not in `allowed_hosts` are refused
    (a page of another site cannot reach it through a DNS name that points at 127.0.0.1)."""
    routes = [
        Route("/", page("index.html")), Route("/run", page("run.html")), Route("/compare", page("compare.html")),
        Route("/quiz", page("quiz.html")),
        Route("/api/runs", api_runs), Route("/api/run", api_run), Route("/api/metrics", api_metrics),
        Route("/api/file", api_file), Route("/api/live", api_live),
        Route("/api/control", api_control, methods=["POST"]),
        *QUIZ_ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    hosts = allowed_hosts or ["127.0.0.1", "localhost"]
    app = Starlette(routes=routes, exception_handlers={ApiError: on_api_error},
                    middleware=[Middleware(SecurityHeaders), Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.root = root.resolve()
    app.state.index = RunsIndex(app.state.root)
    return app
