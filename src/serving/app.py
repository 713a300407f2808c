"""The HTTP side of the service: routes, one-line JSON errors, one log line per request, the page at /.

    POST /v1/tag     an audio file (multipart field `file`, or the raw bytes) -> top-k tags, the taggram,
                     yes/no decisions where the model has thresholds, the model's name and version
    POST /v1/embed   the same upload -> the embedding of every window and their mean
    GET  /v1/model   tags, input kind, backend, thresholds, limits
    GET  /healthz    the process answers (and its counters); GET /readyz: 503 while it would refuse work
    GET  /           the page: drop a file, see its taggram (static/, no resource from elsewhere)

Every error is {"error": "one line"} with a 4xx status for what the request got wrong (400 malformed,
413 too large or too long, 415 wrong Content-Type, 422 not decodable audio or a bad parameter), 503
when the queue is full, 500 when the model call fails; the server goes on serving in every case.
FastAPI's interactive /docs page is off: it loads its scripts from a CDN; /openapi.json stays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from src.core.errors import UserError
from src.inference.backends import require_embeddings
from src.serving import replies
from src.serving.limits import ServiceError
from src.serving.service import TaggingService
from src.serving.uploads import FILE_FIELD

log = logging.getLogger("fcn4")

STATIC = Path(__file__).resolve().parent / "static"
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"  # nothing from elsewhere
MAX_TOP_K = 1000
MAX_HOP_S = 3600.0
UPLOAD_BODY = {  # the OpenAPI description of the two ways to send a file (the route reads the stream itself)
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                    "required": [FILE_FIELD],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(service: TaggingService, cors_origins: list[str] | None = None) -> FastAPI:
    """The ASGI app over `service`; CORS is off unless origins are given (serve.py --cors_origins)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await asyncio.to_thread(service.stop)

    app = FastAPI(title="FCN-4 tagging service", docs_url=None, redoc_url=None, lifespan=lifespan)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST"])
    app.add_middleware(RequestLog)
    _add_error_replies(app)
    _add_routes(app, service)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _add_routes(app: FastAPI, service: TaggingService) -> None:
    card, settings = service.card, service.settings
    top_k_query = Query(None, ge=1, le=MAX_TOP_K, description=f"tags ranked (default {settings.top_k})")
    hop_query = Query(None, gt=0, le=MAX_HOP_S, description=f"window hop in s (default {settings.hop_seconds})")

    @app.post("/v1/tag", openapi_extra=UPLOAD_BODY)
    async def tag(
        request: Request,
        top_k: int | None = top_k_query,
        aggregate: Literal["mean", "max"] = "mean",
        hop_seconds: float | None = hop_query,
    ) -> dict:
        hop = hop_seconds or settings.hop_seconds
        upload, track = await service.score(request, hop)
        request.state.note = f"{upload.size} B, {track.duration_s:.1f} s, {len(track.starts_s)} window(s)"
        return replies.tag_reply(card, upload, track, hop, top_k or settings.top_k, aggregate)

    @app.post("/v1/embed", openapi_extra=UPLOAD_BODY)
    async def embed(request: Request, hop_seconds: float | None = hop_query) -> dict:
        try:
            require_embeddings(card.model.backend, "/v1/embed")
        except UserError as exc:
            raise ServiceError(409, str(exc)) from None
        hop = hop_seconds or settings.hop_seconds
        upload, track = await service.score(request, hop)
        request.state.note = f"{upload.size} B, {track.duration_s:.1f} s, {len(track.starts_s)} window(s)"
        return replies.embed_reply(card, upload, track, hop)

    @app.get("/v1/model")
    async def model() -> dict:
        return card.describe(settings.limits, settings.hop_seconds, settings.max_wait_s)

    @app.get("/healthz")
    async def healthz() -> dict:
        stats = service.batcher.stats
        return {
            "status": "ok",
            "in_progress": service.admission.active,
            "max_queue": service.admission.capacity,
            "model_calls": stats.calls,
            "windows_scored": stats.windows,
            "requests_scored": stats.requests,
        }

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if service.ready:
            return JSONResponse({"status": "ready"})
        why = "queue full" if service.batcher.alive else "model batcher stopped"
        return JSONResponse({"status": "not ready", "error": why}, status_code=503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})


def _add_error_replies(app: FastAPI) -> None:
    """Every error as {"error": one line}, also noted for the request's log line."""

    def reply(request: Request, status: int, message: str, headers: dict | None = None) -> JSONResponse:
        request.state.note = message
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: ServiceError) -> JSONResponse:
        return reply(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        got = f" (got {first['input']!r})" if "input" in first else ""
        return reply(request, 422, f"{where}: {first.get('msg', 'invalid')}{got}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return reply(request, exc.status_code, f"{exc.detail}: {request.method} {request.url.path}", exc.headers)


class RequestLog:
    """One log line per request: client, method, path, status, milliseconds, and what the route noted."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), [500]
        state = scope.setdefault("state", {})

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            note = state.get("note", "")
            elapsed = (time.perf_counter() - began) * 1000
            noted = f" ({note})" if note else ""
            log.info("%s %s %s %d %.1f ms%s", client[0], scope["method"], scope["path"], status[0], elapsed, noted)
