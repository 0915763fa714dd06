"""Errors of access: a request without a valid token, or with one that may not do this;
bad arguments to token creation and audit queries."""

from __future__ import annotations

from linespeed.errors import InputError, LinespeedError


class UnauthorizedError(LinespeedError):
    """No bearer token, or one that is unknown or revoked (HTTP 401)."""

    code = "auth.unauthorized"


class ForbiddenError(LinespeedError):
    """The token's role or stations do not allow the request (HTTP 403)."""

    code = "auth.forbidden"


class TokenInputError(InputError):
    """A token cannot be created as asked: `parameter` (`role`, `stations`) and its `value`."""

    code = "token.input"


class AuditInputError(InputError):
    """An audit log query is refused: `parameter` (`limit`) and its `value`."""

    code = "audit.input"
