"""Errors of access: a request without a valid token, or with one that may not do this."""

from __future__ import annotations

from linespeed.errors import LinespeedError


class UnauthorizedError(LinespeedError):
    """No bearer token, or one that is unknown or revoked (HTTP 401)."""

    code = "auth.unauthorized"


class ForbiddenError(LinespeedError):
    """The token's role or stations do not allow the request (HTTP 403)."""

    code = "auth.forbidden"
