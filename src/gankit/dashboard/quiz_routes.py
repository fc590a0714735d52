"""The quiz's API: start a session, fetch its pictures by id, answer, and read the scores.

All logic (protocols, seeded order, validation, the answer log, the truth kept server side) lives in
gankit.quiz.protocol and gankit.quiz.stats; these endpoints only translate HTTP to those calls. A quiz
error (bad name, replayed trial, missing pool) is a 400 with its one line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gankit.dashboard.requests import ApiError, read_json, run_of
from gankit.quiz import protocol as quiz
from gankit.quiz import stats
from gankit.quiz.report import run_summary


def _run(request: Request) -> Path:
    return run_of(request)[1]


def _error(exc: Exception) -> Exception:
    return ApiError(400, str(exc))


async def quiz_info(request: Request) -> Response:
    run = _run(request)
    protocols = [p.to_dict() for p in quiz.PROTOCOLS.values()]
    try:
        pool = quiz.load_pool(run)
    except quiz.QuizError as exc:
        return JSONResponse({"prepared": False, "why": str(exc), "protocols": protocols})
    return JSONResponse({"prepared": True, "kind": pool["kind"], "items": len(pool["items"]),
                         "pool": pool["id"], "protocols": protocols})


async def quiz_start(request: Request) -> Response:
    run = _run(request)
    body = await read_json(request)
    try:
        pool = quiz.load_pool(run)
        return JSONResponse(quiz.public_plan(pool, body.get("name"), body.get("protocol"), quiz.new_session_seed(),
                                             body.get("exposure_ms")))
    except (quiz.QuizError, KeyError, TypeError) as exc:
        raise _error(exc) from None


async def quiz_item(request: Request) -> Response:
    run = _run(request)
    try:
        path = quiz.item_path(run, quiz.load_pool(run), request.query_params.get("item", ""))
    except quiz.QuizError as exc:
        raise _error(exc) from None
    return FileResponse(path, media_type="image/png")


async def quiz_answer(request: Request) -> Response:
    run = _run(request)
    body: dict[str, Any] = await read_json(request)
    try:
        return JSONResponse(quiz.record_answer(
            run, body.get("name"), body.get("protocol"), body.get("session_seed"), body.get("trial"),
            body.get("answer"), body.get("response_ms"), exposure_ms=body.get("exposure_ms"),
            pool_id=body.get("pool")))
    except (quiz.QuizError, TypeError) as exc:
        raise _error(exc) from None


async def quiz_report(request: Request) -> Response:
    """The same numbers as `gankit quiz-report RUN` (answers on the current pool, scored trials only)."""
    summary = run_summary(_run(request))
    return JSONResponse({**(summary["scores"] or stats.score([])), "status": summary["status"],
                         "note": summary["note"]})


QUIZ_ROUTES = [Route("/api/quiz/info", quiz_info), Route("/api/quiz/start", quiz_start, methods=["POST"]),
               Route("/api/quiz/item", quiz_item), Route("/api/quiz/answer", quiz_answer, methods=["POST"]),
               Route("/api/quiz/report", quiz_report)]
