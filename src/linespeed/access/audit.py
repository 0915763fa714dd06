"""The audit log: every write request to the HTTP API, who made it, when, and what came of it.

The API only appends to it; the database refuses updates and deletes (triggers of
migration 0002), so no API call, and no bug in one, can change what was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Engine, event, insert, select

from linespeed.access.errors import AuditInputError
from linespeed.store.engine import connect
from linespeed.store.schema import audit_log
from linespeed.store.text import storable_text

MAX_PAGE: Final = 1000
MAX_PATH_CHARS: Final = 512
"""The longest path recorded; a longer one is cut and ends with CUT_MARK."""
CUT_MARK: Final = "…[cut from {} chars]"
_DETAIL_CHARS: Final = 2000


@dataclass(frozen=True)
class AuditEntry:
    """One write request as recorded."""

    id: int
    token_id: int | None
    """None when the request carried no valid token."""
    at: datetime
    method: str
    path: str
    action: str
    """What was asked, such as `events.post`."""
    outcome: str
    """`ok`, or the error code it was answered with."""
    status_code: int
    detail: str
    request_id: str | None = None
    """The API request's id (`X-Request-ID`), which its log lines carry; None from the CLI."""


def audit_engine(engine: Engine) -> Engine:
    """The engine the audit log is written with: on SQLite a second engine on the same file
    whose commits do not wait for the disk (`synchronous=NORMAL`); elsewhere `engine`.

    In WAL mode the log is one file, so the next ingest commit (synchronous=FULL) syncs
    every audit record written before it; an audit record is never lost to a crash of the
    server, only, at most, the last ones before a power cut. The request's answer does not
    wait for a second disk sync.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    lazy = connect(engine.url.render_as_string(hide_password=False))
    event.listen(lazy, "connect", _synchronous_normal)
    return lazy


def _synchronous_normal(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass(frozen=True)
class AuditRecord:
    """A write request to record."""

    token_id: int | None
    at: datetime
    method: str
    path: str
    action: str
    outcome: str
    status_code: int
    detail: str
    request_id: str | None = None


def cut_path(path: str) -> str:
    """`path` as recorded: whole up to MAX_PATH_CHARS characters; longer, its start and
    CUT_MARK (naming its length), MAX_PATH_CHARS characters in all."""
    if len(path) <= MAX_PATH_CHARS:
        return path
    mark = CUT_MARK.format(len(path))
    return path[: MAX_PATH_CHARS - len(mark)] + mark


def record_writes(engine: Engine, records: Sequence[AuditRecord]) -> None:
    """Append write requests to the audit log in one transaction (paths cut to 512
    characters, details to 2,000, NUL characters spelled out)."""
    if not records:
        return
    rows = [
        {
            "token_id": record.token_id,
            "at": record.at,
            # NULs are spelled out before cutting, so the text stays within its column.
            "method": storable_text(record.method)[:8],
            "path": cut_path(storable_text(record.path)),
            "action": storable_text(record.action)[:64],
            "outcome": storable_text(record.outcome)[:64],
            "status_code": record.status_code,
            "detail": storable_text(record.detail)[:_DETAIL_CHARS],
            "request_id": record.request_id,
        }
        for record in records
    ]
    with engine.begin() as connection:
        connection.execute(insert(audit_log), rows)


def list_audit(
    engine: Engine, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The newest audit entries first, at most `limit`, older than `before_id` when given.

    Raises AuditInputError (audit.input) if `limit` is not between 1 and 1,000.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise AuditInputError(
            f"limit must be 1 to {MAX_PAGE}, got {limit}", parameter="limit", value=limit
        )
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    with engine.connect() as connection:
        return [AuditEntry(**row._mapping) for row in connection.execute(query)]
