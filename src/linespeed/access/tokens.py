"""API bearer tokens: created with a role (and optionally stations and an expiry), stored
hashed, revoked; each remembers when it was last used.

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
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, TypeAlias, get_args

from sqlalchemy import Engine, Row, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from linespeed.access.errors import ForbiddenError, TokenInputError, UnauthorizedError
from linespeed.errors import NotFoundError
from linespeed.store.schema import api_tokens

Role: TypeAlias = Literal["viewer", "operator", "engineer", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""In rank order: each role may do what the roles before it may."""
TOKEN_PREFIX: Final = "ls_"  # noqa: S105  (a prefix, not a secret)
UNAUTHORIZED: Final = "a valid bearer token is required (Authorization: Bearer <token>)"
"""The one answer to a missing, unknown, revoked or expired token: it tells a prober nothing."""
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
"""A token's last use is written at most this often (not on every request)."""

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
    expires_at: datetime | None = None
    """When the token stops working; None: never (until revoked)."""
    last_used_at: datetime | None = None
    """When a request last carried it (to the minute: LAST_USED_RESOLUTION); None: never."""


@dataclass(frozen=True)
class CreatedToken:
    """A token just created: the only time its secret is known."""

    token: str
    id: int
    role: Role
    stations: list[str] | None
    label: str | None
    created_at: datetime
    expires_at: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    engine: Engine,
    role: str,
    *,
    stations: Sequence[str] = (),
    label: str | None = None,
    expires_in: timedelta | None = None,
) -> CreatedToken:
    """Create a token with `role`, limited to `stations` when some are given, working for
    `expires_in` from now if given (else until revoked).

    Raises TokenInputError (token.input) if the role is unknown, if stations are given for a
    role other than operator (only operators' posts are limited by station), or if
    `expires_in` is not positive or reaches past year 9999.
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
    expires_at = None if expires_in is None else _expiry(now, expires_in)
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
                expires_at=expires_at,
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
    return CreatedToken(secret, token_id, role, chosen, label, now, expires_at)


_LIFETIME_UNITS: Final = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str) -> timedelta:
    """A token's lifetime written as a whole number and a unit: `30m`, `12h`, `90d`, `2w`.

    Raises TokenInputError (token.input) naming the text if it is not one, or not positive.
    """
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in _LIFETIME_UNITS or not number.isdigit() or int(number) == 0 or len(number) > 9:
        raise TokenInputError(
            f"lifetime {text!r} is not a positive whole number of minutes, hours, days or"
            " weeks, such as 90d, 12h, 30m or 2w",
            parameter="expires",
            value=text,
        )
    try:
        return timedelta(seconds=int(number) * _LIFETIME_UNITS[unit])
    except OverflowError:
        raise TokenInputError(
            f"lifetime {text!r} reaches past year 9999", parameter="expires", value=text
        ) from None


def _expiry(now: datetime, expires_in: timedelta) -> datetime:
    if expires_in <= timedelta(0):
        raise TokenInputError(
            f"a token's lifetime must be positive, not {expires_in}",
            parameter="expires",
            value=expires_in,
        )
    try:
        return now + expires_in
    except OverflowError:
        raise TokenInputError(
            f"a lifetime of {expires_in.days:,} days reaches past year 9999",
            parameter="expires",
            value=expires_in,
        ) from None


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
    now = datetime.now(UTC)
    if token.expires_at is not None and token.expires_at <= now:
        log.info("refused: token %d expired at %s", token.id, token.expires_at)
        raise UnauthorizedError(UNAUTHORIZED)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        _mark_used(engine, token.id, now)
    return token


def _mark_used(engine: Engine, token_id: int, now: datetime) -> None:
    """Record that the token was used now (at most once per LAST_USED_RESOLUTION); a store
    too busy to take the write at once leaves the older time, as the request goes on."""
    try:
        with engine.begin() as connection:
            connection.execute(
                update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
            )
    except OperationalError as error:
        log.debug("token %d: last use not recorded (%s)", token_id, error.orig)


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
    and ends the streams of every token not answered: revoked, deleted or expired.
    """
    if not token_ids:
        return set()
    query = select(api_tokens.c.id).where(
        api_tokens.c.id.in_(sorted(token_ids)),
        api_tokens.c.revoked_at.is_(None),
        or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > datetime.now(UTC)),
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
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )
