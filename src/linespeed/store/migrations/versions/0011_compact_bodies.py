"""The event log stores each event's JSON without `kind`, `id` and `ts`, which it holds in
columns already (`linespeed.store.bodies`): about 100 bytes less per event.

Every stored body is rewritten; the canonical JSON comes back byte for byte from the columns
and the stored body, so idempotency, rebuild and the live feed see the same events.

Revision ID: 0011
Revises: 0010 (genealogy corrections)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CHUNK: Final = 20_000
_HEAD: Final = ("kind", "id", "ts")
_decode: Final = msgspec.json.Decoder(dict[str, Any])
_encode: Final = msgspec.json.Encoder().encode


def upgrade() -> None:
    """Leave `kind`, `id` and `ts` out of every stored body."""
    _rewrite(_compact)


def downgrade() -> None:
    """Put `kind`, `id` and `ts` back at the head of every stored body."""
    _rewrite(_full)


def _compact(row: Any) -> str:
    body = _decode.decode(row.body)
    for name in _HEAD:
        body.pop(name, None)
    return _encode(body).decode()


def _full(row: Any) -> str:
    ts = row.ts if isinstance(row.ts, datetime) else datetime.fromisoformat(row.ts)
    head = {"kind": row.kind, "id": row.event_id, "ts": ts.astimezone(UTC)}
    return _encode({**head, **_decode.decode(row.body)}).decode()


def _rewrite(body_of: Callable[[Any], str]) -> None:
    connection = op.get_bind()
    read = sa.text(
        "SELECT seq, kind, event_id, ts, body FROM events WHERE seq > :after"
        " ORDER BY seq LIMIT :limit"
    )
    write = sa.text("UPDATE events SET body = :body WHERE seq = :seq")
    after = 0
    while rows := connection.execute(read, {"after": after, "limit": _CHUNK}).all():
        connection.execute(write, [{"seq": row.seq, "body": body_of(row)} for row in rows])
        after = rows[-1].seq
