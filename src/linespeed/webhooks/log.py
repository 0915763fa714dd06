"""The delivery log: one row per news item queued for a webhook, and its attempts.

Each webhook works on one item at a time, in event order. Queuing the next item and moving
the webhook's resume point (`after_seq`) past it happen in one transaction, so after a
restart the runner picks up the item it was retrying (with its attempts so far) and then
the events after the resume point: nothing delivered is sent again, nothing is skipped.
Each attempt is claimed first (its attempt counted, its next try pushed past the attempt's
time), so two runners on one store never send one item at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from linespeed.store.engine import read_connection, write_transaction
from linespeed.store.schema import webhook_deliveries, webhooks

Status = Literal["retrying", "delivered", "failed"]
STATUSES: Final[tuple[Status, ...]] = ("retrying", "delivered", "failed")


class Delivery(msgspec.Struct, frozen=True):
    """One news item for one webhook, as `webhook deliveries` shows it."""

    id: int
    """Also sent as the `X-Linespeed-Delivery` header."""
    webhook: int
    seq: int
    """The event's number in the plant's log."""
    kind: str
    status: Status
    """`retrying` (not delivered yet), `delivered`, or `failed` (given up)."""
    attempts: int
    http_status: int | None
    """The receiver's HTTP status at the last attempt; None if it did not answer."""
    error: str | None
    """Why the last attempt failed; None once delivered."""
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    """When it is tried next (`retrying` only)."""
    finished_at: datetime | None
    """When it was delivered or given up."""


@dataclass(frozen=True)
class Pending:
    """The item a webhook is working on, as the runner needs it."""

    id: int
    seq: int
    kind: str
    body: bytes
    attempts: int
    created_at: datetime
    next_attempt_at: datetime


def list_deliveries(
    engine: Engine,
    webhook_id: int | None = None,
    status: Status | None = None,
    limit: int | None = None,
) -> list[Delivery]:
    """The delivery log, oldest first: of one webhook, of one status, the newest `limit`."""
    query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc())
    if webhook_id is not None:
        query = query.where(webhook_deliveries.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    with read_connection(engine) as connection:
        rows = connection.execute(query).all()
    return [
        Delivery(
            int(row.id),
            int(row.webhook_id),
            int(row.seq),
            row.kind,
            row.status,
            int(row.attempts),
            row.http_status,
            row.error,
            row.created_at,
            row.last_attempt_at,
            row.next_attempt_at,
            row.finished_at,
        )
        for row in reversed(rows)
    ]


def pending(engine: Engine, webhook_id: int) -> Pending | None:
    """The item webhook `webhook_id` is retrying, if any (there is at most one)."""
    columns = webhook_deliveries.c
    with read_connection(engine) as connection:
        row = connection.execute(
            select(webhook_deliveries)
            .where(columns.webhook_id == webhook_id, columns.status == "retrying")
            .order_by(columns.id)
            .limit(1)
        ).first()
    if row is None:
        return None
    return Pending(
        int(row.id),
        int(row.seq),
        row.kind,
        row.body.encode("utf-8"),
        int(row.attempts),
        row.created_at,
        row.next_attempt_at,
    )


def any_retrying(engine: Engine) -> bool:
    """Whether some webhook still has an item to deliver."""
    with read_connection(engine) as connection:
        found = connection.execute(
            select(webhook_deliveries.c.id)
            .where(webhook_deliveries.c.status == "retrying")
            .limit(1)
        ).first()
    return found is not None


def move_on(engine: Engine, webhook_id: int, seen: int, after: int) -> bool:
    """Move the webhook's resume point from `seen` to `after` (no news for it between).

    False if it was not at `seen` any more (another runner moved it, or it was removed).
    """
    with write_transaction(engine) as connection:
        moved = connection.execute(
            webhooks.update()
            .where(webhooks.c.id == webhook_id, webhooks.c.after_seq == seen)
            .values(after_seq=after)
        ).rowcount
    return bool(moved)


def queue(
    engine: Engine, webhook_id: int, seen: int, seq: int, kind: str, body: bytes, now: datetime
) -> Pending | None:
    """Queue the item of event `seq` for the webhook and move its resume point to `seq`.

    None if the resume point was not at `seen` any more (another runner queued it, or the
    webhook was removed): nothing is queued then.
    """
    try:
        with write_transaction(engine) as connection:
            moved = connection.execute(
                webhooks.update()
                .where(webhooks.c.id == webhook_id, webhooks.c.after_seq == seen)
                .values(after_seq=seq)
            ).rowcount
            if not moved:
                return None
            delivery_id = connection.execute(
                webhook_deliveries.insert()
                .values(
                    webhook_id=webhook_id,
                    seq=seq,
                    kind=kind,
                    body=body.decode("utf-8"),
                    status="retrying",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
                .returning(webhook_deliveries.c.id)
            ).scalar_one()
    except IntegrityError:  # another runner queued it first
        return None
    return Pending(int(delivery_id), seq, kind, body, 0, now, now)


def claim(engine: Engine, item: Pending, now: datetime, hold_s: float) -> bool:
    """Count an attempt at `item` and hold it for `hold_s` seconds, so that no other runner
    tries it meanwhile. False if another runner claimed it first or it is no longer retried.
    """
    columns = webhook_deliveries.c
    with write_transaction(engine) as connection:
        claimed = connection.execute(
            webhook_deliveries.update()
            .where(
                columns.id == item.id,
                columns.status == "retrying",
                columns.attempts == item.attempts,
            )
            .values(
                attempts=item.attempts + 1,
                last_attempt_at=now,
                next_attempt_at=now + timedelta(seconds=hold_s),
            )
        ).rowcount
    return bool(claimed)


def record(
    engine: Engine,
    item: Pending,
    attempts: int,
    outcome: tuple[Status, int | None, str | None],
    now: datetime,
    next_attempt_at: datetime | None,
) -> None:
    """Record what attempt number `attempts` at `item` came to: (status, HTTP status, error).

    Nothing is recorded if the item is no longer retried (its webhook was removed).
    """
    status, http_status, error = outcome
    columns = webhook_deliveries.c
    finished = None if status == "retrying" else now
    with write_transaction(engine) as connection:
        connection.execute(
            webhook_deliveries.update()
            .where(
                columns.id == item.id,
                columns.status == "retrying",
                columns.attempts == attempts,
            )
            .values(
                status=status,
                http_status=http_status,
                error=error,
                next_attempt_at=next_attempt_at if status == "retrying" else None,
                finished_at=finished,
            )
        )
