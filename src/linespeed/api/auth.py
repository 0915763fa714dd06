"""FastAPI dependencies: the bearer token of a request, checked against a role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from linespeed.access.tokens import ApiToken, Role, authenticate, require_role

bearer = HTTPBearer(auto_error=False, description="A token from `linespeed token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> ApiToken:
    """The request's active token, remembered on `request.state` for the audit log.

    Raises UnauthorizedError if there is none or it is unknown or revoked.
    """
    secret = None if credentials is None else credentials.credentials
    token = authenticate(request.app.state.engine, secret)
    request.state.token_id = token.id
    return token


def role(
    needed: Role,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[ApiToken]]:
    """A dependency giving the request's token if its role is `needed` or above.

    The dependency raises UnauthorizedError (no valid token) or ForbiddenError (too low).
    It runs on the event loop: the token lookup is one indexed read, cheaper than a hop to
    a worker thread and back.
    """

    async def dependency(request: Request, credentials: Credentials) -> ApiToken:
        token = token_of(request, credentials)
        require_role(token, needed)
        return token

    return dependency


Viewer = Annotated[ApiToken, Depends(role("viewer"))]
Operator = Annotated[ApiToken, Depends(role("operator"))]
Engineer = Annotated[ApiToken, Depends(role("engineer"))]
Admin = Annotated[ApiToken, Depends(role("admin"))]
