"""The web application: the API under /api/v1, the dashboard at /, one error format."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

import linespeed
from linespeed.access.audit import audit_engine
from linespeed.access.errors import UnauthorizedError
from linespeed.access.ratelimit import RateLimiter, RefusalLog
from linespeed.access.tokens import authenticate
from linespeed.api.auth import Credentials, token_of
from linespeed.api.deadletters import router as deadletters_router
from linespeed.api.errors import EventsRejectedError, status_for
from linespeed.api.middleware import (
    AuditMiddleware,
    RefuseNul,
    RequestIdMiddleware,
    RequestSeconds,
    SecurityHeaders,
    TokenlessWriteLimit,
)
from linespeed.api.posting import EventPoster
from linespeed.api.routes import router
from linespeed.api.stream import router as stream_router
from linespeed.api.writer import GroupWriter
from linespeed.errors import LinespeedError
from linespeed.ingest.core import Ingestor, LiveWindow
from linespeed.live import FeedPoller, StreamSettings
from linespeed.metrics import (
    CONTENT_TYPE,
    LineAgeCollector,
    joined,
    observe_request,
    scrape,
    watch_ingest,
)
from linespeed.store.engine import store_failure
from linespeed.supply.plan_file import PlanFileError
from linespeed.webhooks import DeliverySettings, WebhookRunner

WEB_DIR: Final = Path(__file__).parents[1] / "web"
THREADS: Final = 8

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiSettings:
    """How the server behaves: the largest body it reads, how often the live feed looks,
    how many live streams it keeps open (per token and in all, 429 beyond), and how often
    it checks that their tokens are still active."""

    max_body_bytes: int = 16 * 1024 * 1024
    poll_s: float = 0.5
    max_streams: int = 500
    max_streams_per_token: int = 10
    stream_token_check_s: float = 5.0
    tokenless_burst: int = 20
    """Write requests without a valid token an address may make at once..."""
    tokenless_per_s: float = 5.0
    """...and then per second, on average (beyond: 429 `request.rate_limited`)."""
    live_window: LiveWindow | None = field(default_factory=LiveWindow)
    """How far from now posted events may be dated (None: any time from 1970 to 2200)."""
    webhooks: DeliverySettings | None = field(default_factory=DeliverySettings)
    """How the plant's webhooks are delivered while the server runs (None: not by it)."""
    metrics_token_required: bool = False
    """Whether `/metrics` asks for a token (of any role); by default Prometheus scrapes it
    without one: it holds counts, not plant data."""


def create_app(engine: Engine, settings: ApiSettings = ApiSettings()) -> FastAPI:
    """The API and dashboard over the store `engine` (opened and migrated by the caller).

    Raises ValueError if `settings` limit tokenless writes to a burst below 1 or a rate
    not above 0.
    """
    limiter = RateLimiter(settings.tokenless_burst, settings.tokenless_per_s)
    audit_writes = audit_engine(engine)
    writer = GroupWriter(Ingestor(engine, settings.live_window), audit_writes)
    feed_poller = FeedPoller(
        engine,
        StreamSettings(
            poll_s=settings.poll_s,
            max_streams=settings.max_streams,
            max_streams_per_token=settings.max_streams_per_token,
            token_check_s=settings.stream_token_check_s,
        ),
        closing=lambda: bool(app.state.closing),
    )
    poster = EventPoster(writer)
    watch_ingest("api")
    metrics = joined(LineAgeCollector(engine))
    webhooks = None if settings.webhooks is None else WebhookRunner(engine, settings.webhooks)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Handlers block a thread only to read; fewer threads take turns on the GIL and
        # on the database's pooled connections (5 kept open) more cheaply.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        if webhooks is not None:
            webhooks.start()
        yield
        if webhooks is not None:
            await anyio.to_thread.run_sync(webhooks.stop)
        poster.close()
        await feed_poller.stop()
        writer.close()
        if audit_writes is not engine:
            audit_writes.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="linespeed",
        version=getattr(linespeed, "__version__", "0"),
        description="Production tracking and ramp-up for EV assembly plants (docs/api.md).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load its scripts from a CDN
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.poster = poster
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.closing = False
    """Set when the server stops: open live feeds end."""
    app.state.feed_poller = feed_poller
    app.include_router(router)
    app.include_router(stream_router)
    app.include_router(deadletters_router)
    app.add_middleware(AuditMiddleware, record=writer.submit_audit)
    app.add_middleware(
        TokenlessWriteLimit,
        limiter=limiter,
        refusals=RefusalLog("write requests without a valid token"),
        has_valid_token=lambda secret: _valid(engine, secret),
    )
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(RequestSeconds, observe=observe_request)
    app.add_exception_handler(LinespeedError, _linespeed_error)
    app.add_exception_handler(OverflowError, _overflow_error)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(InterfaceError, _store_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        """The line's dashboard page."""
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request, credentials: Credentials) -> Response:
        """The server's metrics for Prometheus (docs/operations.md#monitoring).

        Raises UnauthorizedError (401) if the server requires a token for them and the
        request carries no active one.
        """
        if settings.metrics_token_required:
            token_of(request, credentials)
        return Response(scrape(metrics), media_type=CONTENT_TYPE)

    return app


def _error(request: Request, status: int, code: str, detail: Any, **extra: Any) -> JSONResponse:
    request.state.outcome = code
    request.state.detail = detail if isinstance(detail, str) else str(detail)
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


async def _linespeed_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LinespeedError)
    extra: dict[str, Any] = error.result if isinstance(error, EventsRejectedError) else {}
    if isinstance(error, PlanFileError):
        extra = {"problems": msgspec.to_builtins(error.problems)}
    return _error(request, status_for(error), error.code, error.message, **extra)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"where": ".".join(str(part) for part in problem["loc"]), "message": problem["msg"]}
        for problem in error.errors()
    ]
    return _error(request, 422, "request.invalid", problems)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return _error(request, error.status_code, f"http.{error.status_code}", error.detail)


STORE_RETRY_AFTER_S: Final = 5


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    """The store cannot be reached (a restart, a lost connection, a full disk): 503, to be
    tried again; the server itself goes on and reconnects once the store is back."""
    assert isinstance(error, DBAPIError)
    log.warning("%s %s: the store failed: %s", request.method, request.url.path, error.orig)
    answer = _error(
        request,
        503,
        "store.unavailable",
        f"{store_failure(error)}; nothing of this request was stored: try again",
    )
    answer.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
    return answer


async def _overflow_error(request: Request, error: Exception) -> JSONResponse:
    """A date or number in the request too large to compute with: the library's range
    checks should have refused it with their own code; this is the last line."""
    log.warning("%s %s: %r", request.method, request.url.path, error, exc_info=error)
    return _error(request, 400, "request.out_of_range", f"a value is out of range: {error}")


def _valid(engine: Engine, secret: str | None) -> bool:
    try:
        authenticate(engine, secret)
    except UnauthorizedError:
        return False
    return True
