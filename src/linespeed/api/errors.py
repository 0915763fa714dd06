"""Errors of the HTTP API's requests, and the HTTP status each linespeed error answers with.

The access errors (`UnauthorizedError` 401, `ForbiddenError` 403) live in `linespeed.access`.
"""

from __future__ import annotations

from typing import Any, Final

from linespeed.access.errors import ForbiddenError, UnauthorizedError
from linespeed.errors import LinespeedError, NotFoundError, StoreError
from linespeed.live.errors import TooManyStreamsError


class RequestError(LinespeedError):
    """The request itself is malformed: body, content type, query parameters (HTTP 400)."""

    code = "request.invalid"


class PayloadTooLargeError(RequestError):
    """The request body is larger than the server accepts (HTTP 413)."""

    code = "request.too_large"


class UnsupportedMediaTypeError(RequestError):
    """The body's content type is not one the endpoint reads (HTTP 415)."""

    code = "request.content_type"


class RateLimitedError(RequestError):
    """Too many write requests without a valid token from one client address (HTTP 429)."""

    code = "request.rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Seconds until the address may write again (the `Retry-After` header)."""


class EventsRejectedError(LinespeedError):
    """Every event of a request was refused by ingest (HTTP 422); outcomes say why."""

    code = "events.rejected"

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result
        """The per-event outcomes, answered beside the error."""


_STATUS: Final[tuple[tuple[type[LinespeedError], int], ...]] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (EventsRejectedError, 422),
    (TooManyStreamsError, 429),
    (RateLimitedError, 429),
    (StoreError, 503),
)


def status_for(error: LinespeedError) -> int:
    """The HTTP status of a linespeed error: the first class in the table it is an instance
    of, else 400 (every other linespeed error is about the input)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400
