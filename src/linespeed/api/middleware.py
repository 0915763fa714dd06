"""ASGI middleware of the API: every write request recorded in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linespeed.api.audit import AuditRecord

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or not scope["path"].startswith("/api/")
        ):
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
            )
            await asyncio.wrap_future(self.record(record))
