"""ASGI middleware of the API: every request named by an id and timed by route, every write
request recorded in the audit log, write requests without a valid token limited per client
address, requests with NUL refused, and security headers on every answer."""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linespeed.access.audit import AuditRecord
from linespeed.access.ratelimit import RateLimiter, RefusalLog, client_key
from linespeed.api.errors import RateLimitedError, status_for
from linespeed.logs import REQUEST_ID

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
SECURITY_HEADERS: Final = {
    # The dashboard loads its script, styles and chart library from /static only; the icon
    # is an empty data: URL. Nothing may frame a page (clickjacking).
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def is_api_write(scope: Scope) -> bool:
    """Whether `scope` is an HTTP write request (POST, PUT, PATCH, DELETE) under /api/."""
    return (
        scope["type"] == "http"
        and scope["method"] in WRITE_METHODS
        and scope["path"].startswith("/api/")
    )


class RequestIdMiddleware:
    """Gives every HTTP request an id: the caller's `X-Request-ID` if it is a plain token of
    at most 64 characters (a proxy's), else a new one. It is answered in `X-Request-ID`,
    kept on the request's state (the audit record names it) and in `REQUEST_ID` for every
    log line written while the request is handled (uvicorn's access line included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Name the request, answer its id, pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        REQUEST_ID.set(request_id)

        async def send_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_id)


class RequestSeconds:
    """Times every HTTP request from its arrival to the start of its answer (a live feed's
    too: not its whole stream) and tells `observe` the route template (`unmatched` when no
    route took it; `/static/{path}` for the dashboard's files), method, status and seconds."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, str, int, float], object]) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; tell its time once its answer starts (or it fails)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        def tell(status: int) -> None:
            nonlocal answered
            answered = True
            self.observe(_route_of(scope), scope["method"], status, time.perf_counter() - started)

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start" and not answered:
                tell(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            if not answered:
                tell(500)


def _route_of(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    if scope["path"].startswith("/static/"):
        return "/static/{path}"
    return "unmatched"


class AuditMiddleware:
    """Records every write request under /api/ after it is answered: the token (if any was
    valid), the time, the method and path, the action (the route's name), and the outcome
    (`ok` or an error code) with its detail, which handlers leave on request.state.
    """

    def __init__(self, app: ASGIApp, record: Callable[[AuditRecord], Future[None]]) -> None:
        self.app = app
        self.record = record
        """Queues one record; the future is done once it is stored."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record it if it is a write."""
        if not is_api_write(scope):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state: dict[str, Any] = scope.get("state", {})
            outcome = state.get("outcome") or ("ok" if status < 400 else f"http.{status}")
            record = AuditRecord(
                token_id=state.get("token_id"),
                at=datetime.now(UTC),
                method=scope["method"],
                path=scope["path"],
                action=getattr(scope.get("route"), "name", None) or "unknown",
                outcome=outcome,
                status_code=status,
                detail=state.get("detail") or "",
                request_id=state.get("request_id"),
            )
            await asyncio.wrap_future(self.record(record))


class TokenlessWriteLimit:
    """Limits write requests under /api/ that carry no valid token, per client address (a
    token bucket, `RateLimiter`): beyond the limit they are answered 429
    `request.rate_limited` with `Retry-After`, before anything reads their body or records
    them; refusals are counted and logged at most once a minute per address (`RefusalLog`).

    A request with a valid token is never refused: one is taken from the address's bucket
    only until the request shows a valid token (it is then given back), and once the
    bucket is empty a request's token is checked before refusing it.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        refusals: RefusalLog,
        has_valid_token: Callable[[str | None], bool],
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.refusals = refusals
        self.has_valid_token = has_valid_token
        """Whether a bearer secret (None: no Authorization header) is an active token."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 429 if it is a write without a valid token from an
        address over its limit."""
        if not is_api_write(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client_key(client[0] if client else None)
        wait_s = self.limiter.take(key)
        if wait_s == 0:
            try:
                await self.app(scope, receive, send)
            finally:
                if scope.get("state", {}).get("token_id") is not None:
                    self.limiter.give_back(key)
            return
        if self.has_valid_token(_bearer_secret(scope)):
            await self.app(scope, receive, send)
            return
        self.refusals.refused(key)
        error = RateLimitedError(
            f"too many write requests without a valid token from {key}; "
            f"send a bearer token, or retry in {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )
        response = JSONResponse(
            {"error": error.code, "detail": error.message},
            status_code=status_for(error),
            headers={"Retry-After": str(error.retry_after_s)},
        )
        await response(scope, receive, send)


def _bearer_secret(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return secret.strip() or None
    return None


class RefuseNul:
    """Answers 400 to a request whose path or query holds a NUL character (`%00`): no plant
    name, VIN, lot or station holds one, and PostgreSQL cannot even compare text with one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request if it carries NUL; otherwise pass it on."""
        if scope["type"] == "http" and _has_nul(scope):
            answer = JSONResponse(
                {
                    "error": "request.invalid",
                    "detail": "the path or query holds a NUL character (%00)",
                },
                status_code=400,
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP answer: pages, static files, the API, errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
