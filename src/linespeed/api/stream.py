"""GET /api/v1/stream: the live feed as server-sent events, over the shared poller in live/.

Thin: parse `Last-Event-ID`, authenticate (header or `?access_token=`, which EventSource
needs), open a stream on the app's poller, send it.
"""

from __future__ import annotations

from typing import Annotated, Final

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import Receive, Scope, Send

from linespeed.access.tokens import require_role
from linespeed.api.auth import Credentials, token_of
from linespeed.api.errors import RequestError
from linespeed.api.routes import reject_unknown_query
from linespeed.live import FeedPoller, Subscription

MAX_SEQ: Final = 2**63 - 1
router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query)])
_ERRORS: Final[dict[int | str, dict[str, str]]] = {
    status: {"description": f"{meaning}: `{{error: code, detail: ...}}` (docs/api.md)"}
    for status, meaning in (
        (400, "a Last-Event-ID that is not a sequence number"),
        (401, "no valid token"),
        (403, "the token may not do this"),
        (429, "too many live streams open for the token or the server"),
        (503, "the database does not answer"),
    )
}


def parse_last_event_id(value: str | None) -> int | None:
    """The sequence number a client resumes after (None: it starts from now).

    Raises RequestError (request.invalid) unless `value` is ASCII digits of at most 2^63-1.
    """
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_SEQ:
        raise RequestError(
            f"Last-Event-ID must be an event sequence number (0 to {MAX_SEQ}), not {value[:40]!r}"
        )
    return int(value)


class _FeedResponse(StreamingResponse):
    """A stream's response; its slot is given back however the response ends."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__(
            subscription.sse(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.subscription.close()


@router.get("/stream", tags=["events"], responses=_ERRORS)
async def stream(
    request: Request,
    credentials: Credentials,
    access_token: Annotated[
        str | None, Query(max_length=200, description="for EventSource, which sends no header")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="resume after this event sequence number")
    ] = None,
) -> StreamingResponse:
    """Server-sent events: `completion`, `milestone` and `station-state`, as they happen
    (docs/api.md, Live feed: caps, replay bound, `reset` and `end` events)."""
    if credentials is None and access_token is not None:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=access_token)
    poller: FeedPoller = request.app.state.feed_poller
    async with poller.admitting():
        token = await anyio.to_thread.run_sync(token_of, request, credentials)
        require_role(token, "viewer")
        after = parse_last_event_id(last_event_id)
        return _FeedResponse(await poller.open(token.id, after))
