"""Dead letters: refused payloads kept with their reason, for people to fix and retry."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, Engine, select

from linespeed.store.schema import dead_letters
from linespeed.store.text import storable_text as _storable

DeadLetterStatus = Literal["open", "resolved"]


@dataclass(frozen=True)
class Rejection:
    """A refused payload on its way to the dead letters."""

    raw: bytes
    source: str
    event_id: str | None
    reason: str
    detail: str
    dead_letter_id: int | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A stored dead letter."""

    id: int
    received_at: datetime
    source: str
    raw: str
    event_id: str | None
    reason: str
    detail: str
    status: DeadLetterStatus
    attempts: int
    resolved_at: datetime | None


def _text(raw: bytes) -> str:
    return _storable(raw.decode("utf-8", errors="backslashreplace"))


def record_rejections(connection: Connection, rejections: Sequence[Rejection]) -> None:
    """Store new rejections and count another attempt on retried ones, which keep the
    reason (and detail) they were first refused with; a payload has at most one open
    letter (the same payload sent again and refused for another reason: the newest)."""
    now = datetime.now(UTC)
    retried = [item for item in rejections if item.dead_letter_id is not None]
    fresh = [item for item in rejections if item.dead_letter_id is None]
    for item in retried:  # a retried letter keeps the reason it was first refused with
        connection.execute(
            dead_letters.update()
            .where(dead_letters.c.id == item.dead_letter_id)
            .values(attempts=dead_letters.c.attempts + 1)
        )
    if not fresh:
        return
    digests = {id(item): hashlib.sha256(item.raw).hexdigest() for item in fresh}
    open_letters = {
        digest: (letter_id, reason, detail)
        for letter_id, digest, reason, detail in connection.execute(
            select(
                dead_letters.c.id,
                dead_letters.c.raw_sha256,
                dead_letters.c.reason,
                dead_letters.c.detail,
            ).where(
                dead_letters.c.status == "open",
                dead_letters.c.raw_sha256.in_(set(digests.values())),
            )
        )
    }
    rows = []
    for item in fresh:
        digest = digests[id(item)]
        known = open_letters.get(digest)
        if known is None:
            open_letters[digest] = (None, item.reason, item.detail)
            rows.append(
                {
                    "received_at": now,
                    "source": _storable(item.source),
                    "raw": _text(item.raw),
                    "raw_sha256": digest,
                    "event_id": None if item.event_id is None else _storable(item.event_id),
                    "reason": item.reason,
                    "detail": _storable(item.detail),
                    "status": "open",
                    "attempts": 0,
                    "resolved_at": None,
                }
            )
        elif known[0] is not None and known[1:] != (item.reason, item.detail):
            # The same payload refused again for another reason: keep one letter, newest reason.
            connection.execute(
                dead_letters.update()
                .where(dead_letters.c.id == known[0])
                .values(reason=item.reason, detail=_storable(item.detail))
            )
            open_letters[digest] = (known[0], item.reason, item.detail)
    if rows:
        connection.execute(dead_letters.insert(), rows)


def resolve(connection: Connection, dead_letter_ids: Sequence[int]) -> None:
    """Mark dead letters whose payload has now been accepted (or found stored) as resolved."""
    if dead_letter_ids:
        connection.execute(
            dead_letters.update()
            .where(dead_letters.c.id.in_(dead_letter_ids))
            .values(
                status="resolved",
                resolved_at=datetime.now(UTC),
                attempts=dead_letters.c.attempts + 1,
            )
        )


def list_dead_letters(engine: Engine, status: DeadLetterStatus | None = "open") -> list[DeadLetter]:
    """Dead letters in arrival order; all of them when `status` is None."""
    query = select(dead_letters).order_by(dead_letters.c.id)
    if status is not None:
        query = query.where(dead_letters.c.status == status)
    with engine.connect() as connection:
        return [
            DeadLetter(
                id=row.id,
                received_at=row.received_at,
                source=row.source,
                raw=row.raw,
                event_id=row.event_id,
                reason=row.reason,
                detail=row.detail,
                status=row.status,
                attempts=row.attempts,
                resolved_at=row.resolved_at,
            )
            for row in connection.execute(query)
        ]
