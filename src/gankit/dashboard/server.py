"""`gankit dashboard [RUNS_DIR] [--port 8765] [--host 127.0.0.1]`: serve the dashboard with uvicorn.

Bound to 127.0.0.1 unless --host says otherwise (then with a warning: the pages show configs and pictures
of every run, and the quiz and control endpoints accept writes). The socket is bound here, before uvicorn
starts, so a port in use is one clear line, and --port 0 takes a free port (the tests use it).
"""
from __future__ import annotations

import socket
import sys
import warnings
from pathlib import Path

from gankit.errors import UserError

LOCAL = ("127.0.0.1", "localhost", "::1")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror} (pick another --port)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(runs_dir: Path, host: str = "127.0.0.1", port: int = 8765) -> int:
    try:
        import uvicorn

        from gankit.dashboard.app import create_app
    except ImportError as exc:
        raise UserError(f"the dashboard needs {exc.name}: pip install 'gankit[dashboard]' "
                        "(starlette and uvicorn)") from None
    if not runs_dir.is_dir():
        raise UserError(f"RUNS_DIR {runs_dir} is not a directory (give the folder that holds your runs, e.g. runs)")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be 0..65535, got {port}")
    if host not in LOCAL:
        warnings.warn(f"--host {host}: the dashboard is reachable from other machines; it shows every run's "
                      "config and pictures and accepts quiz answers (control still needs a run's token)", stacklevel=2)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    hosts = ["127.0.0.1", "localhost", "[::1]"] if host in LOCAL else ["*"]
    app = create_app(runs_dir, allowed_hosts=hosts)
    shown = f"[{host}]" if ":" in host else host
    print(f"dashboard: http://{shown}:{actual}/  (runs in {runs_dir.resolve()}; Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.run(sockets=[sock])
    sys.stdout.flush()
    return 0
