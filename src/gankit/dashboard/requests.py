"""What every endpoint does with a request first: the run it names (through dashboard.paths) and, for a
POST, its JSON body (same origin only, bounded); errors answered as {"error": ...} with a status."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request

from gankit.dashboard import paths
from gankit.dashboard.paths import Refused

MAX_BODY = 16 * 1024  # bytes of a POST body


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def run_of(request: Request) -> tuple[str, Path]:
    name = request.query_params.get("run", "")
    try:
        return name, paths.run_dir(request.app.state.root, name)
    except Refused as exc:
        raise ApiError(404, str(exc)) from None


async def read_json(request: Request) -> dict[str, Any]:
    """A POST's JSON object: same origin only, bounded in size."""
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise ApiError(403, "cross-origin request refused")
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, "send application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, f"request body over {MAX_BODY} bytes")
    try:
        value = json.loads(body)
    except ValueError:
        raise ApiError(400, "request body is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "request body must be a JSON object")
    return value
