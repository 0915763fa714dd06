"""API bearer tokens: created with a role (and optionally stations), stored hashed, revoked.

Roles are ordered viewer < operator < engineer < admin; a token may do what its role and
every lower role may do. A token's secret is shown once, at creation: only its SHA-256 is
stored, so a copy of the database gives no token away.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias, get_args

from sqlalchemy import Engine, Row, insert, select, update

from linespeed.access.errors import ForbiddenError, TokenInputError, UnauthorizedError
from linespeed.errors import NotFoundError
from linespeed.store.schema import api_tokens

Role: TypeAlias = Literal["viewer", "operator", "engineer", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""In rank order: each role may do what the roles before it may."""
TOKEN_PREFIX: Final = "ls_"  # noqa: S105  (a prefix, not a secret)
UNAUTHORIZED: Final = "a valid bearer token is required (Authorization: Bearer <token>)"
"""The one answer to a missing, unknown or revoked token: it tells a prober nothing."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiToken:
    """A stored token (without its secret)."""

    id: int
    role: Role
    stations: list[str] | None
    """The stations whose events the token may post; None: every station."""
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedToken:
    """A token just created: the only time its secret is known."""

    token: str
    id: int
    role: Role
    stations: list[str] | None
    label: str | None
    created_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    engine: Engine,
    role: str,
    *,
    stations: Sequence[str] = (),
    label: str | None = None,
) -> CreatedToken:
    """Create a token with `role`, limited to `stations` when some are given.

    Raises TokenInputError (token.input) if the role is unknown, or if stations are given
    for a role other than operator (only operators' posts are limited by station).
    """
    if role not in ROLES:
        raise TokenInputError(
            f"role {role!r} is not one of {', '.join(ROLES)}", parameter="role", value=role
        )
    if stations and role != "operator":
        raise TokenInputError(
            f"stations limit an operator's posts; a {role} token takes none",
            parameter="stations",
            value=list(stations),
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    chosen = sorted(set(stations)) or None
    with engine.begin() as connection:
        token_id = connection.execute(
            insert(api_tokens)
            .values(
                token_sha256=_digest(secret),
                role=role,
                stations=None if chosen is None else json.dumps(chosen),
                label=label,
                created_at=now,
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
    return CreatedToken(secret, token_id, role, chosen, label, now)


def list_tokens(engine: Engine, *, include_revoked: bool = False) -> list[ApiToken]:
    """Every token (active ones unless `include_revoked`), oldest first."""
    query = select(api_tokens).order_by(api_tokens.c.id)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    with engine.connect() as connection:
        return [_token(row) for row in connection.execute(query)]


def revoke_token(engine: Engine, token_id: int) -> ApiToken:
    """Revoke a token: from now on it answers 401. Revoking twice is harmless.

    Raises NotFoundError if no token has that id.
    """
    with engine.begin() as connection:
        connection.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"no token with id {token_id}")
    return _token(row)


def authenticate(engine: Engine, secret: str | None) -> ApiToken:
    """The active token whose secret this is.

    Raises UnauthorizedError, with the same plain message whatever the cause, if there is
    no secret, or it is unknown or revoked (the server's log says which: at debug level for
    a missing or unknown secret, at info level with the id of a revoked token).
    """
    if not secret:
        log.debug("refused: no bearer token")
        raise UnauthorizedError(UNAUTHORIZED)
    with engine.connect() as connection:
        row = connection.execute(
            select(api_tokens).where(api_tokens.c.token_sha256 == _digest(secret))
        ).first()
    if row is None:
        log.debug("refused: unknown token")
        raise UnauthorizedError(UNAUTHORIZED)
    token = _token(row)
    if token.revoked_at is not None:
        log.info("refused: token %d was revoked at %s", token.id, token.revoked_at)
        raise UnauthorizedError(UNAUTHORIZED)
    return token


def require_role(token: ApiToken, role: Role) -> None:
    """Check that `token` may act as `role`.

    Raises ForbiddenError naming both roles if its role ranks lower.
    """
    if ROLES.index(token.role) < ROLES.index(role):
        raise ForbiddenError(f"token {token.id} is a {token.role}; this needs {role} or above")


def check_stations(token: ApiToken, stations: Sequence[str | None]) -> None:
    """Check that a station-limited token may post events of all these stations.

    An event that names no station (a car started, completed or shipped) is outside every
    station limit. Raises ForbiddenError naming the first station outside the token's.
    """
    if token.stations is None:
        return
    allowed = set(token.stations)
    for station in stations:
        if station not in allowed:
            what = "an event without a station" if station is None else f"station {station!r}"
            raise ForbiddenError(
                f"token {token.id} may post events of {', '.join(token.stations)} only, not {what}"
            )


def active_token_ids(engine: Engine, token_ids: Collection[int]) -> set[int]:
    """The ids among `token_ids` of tokens that exist and are not revoked, in one query.

    The live feed's shared poller asks this every few seconds for all open streams at once,
    and ends the streams of every token not answered: revoked, deleted, and (the hook)
    expired. Once tokens can expire, this is the one place to add the condition
    (`expires_at IS NULL OR expires_at > now`): their streams then end at expiry too.
    """
    if not token_ids:
        return set()
    query = select(api_tokens.c.id).where(
        api_tokens.c.id.in_(sorted(token_ids)), api_tokens.c.revoked_at.is_(None)
    )
    with engine.connect() as connection:
        return {int(token_id) for token_id in connection.execute(query).scalars()}


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id,
        role=row.role,
        stations=None if row.stations is None else list(json.loads(row.stations)),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
