"""Dead letters as a workflow: where each letter is from (VIN, station, line, read from its
payload), and who dismissed (with a note) or was assigned it.

Existing letters get their VIN, station and line from their stored payload when it is a
JSON object naming them (leniently: anything else leaves them NULL). The status index
becomes (status, received_at), what the lists filter and order by; VINs are indexed.

Revision ID: 0015
Revises: 0014 (plant stores)
"""

from __future__ import annotations

import json
from typing import Any, Final

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_WHERE: Final = ("vin", "station", "line")
_LONGEST: Final = 200
_BATCH: Final = 1000


def upgrade() -> None:
    """Add the columns, index them, and fill VIN, station and line of existing letters."""
    with op.batch_alter_table("dead_letters") as batch:
        for name in _WHERE:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("assignee", sa.Text(), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("handled_at", UtcDateTime(), nullable=True))
        batch.drop_index("ix_dead_letters_status")
        batch.create_index("ix_dead_letters_status_received_at", ["status", "received_at"])
        batch.create_index("ix_dead_letters_vin", ["vin"])
    _backfill()


def _backfill() -> None:
    columns: list[sa.ColumnClause[Any]] = [
        sa.column("id", sa.Integer()),
        sa.column("raw", sa.Text()),
    ]
    letters = sa.table("dead_letters", *columns, *(sa.column(name, sa.Text()) for name in _WHERE))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(letters.c.id, letters.c.raw)
            .where(letters.c.id > last)
            .order_by(letters.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        found = [{"letter_id": row.id, **_where(row.raw)} for row in rows]
        found = [values for values in found if any(values[name] for name in _WHERE)]
        if found:
            connection.execute(
                letters.update()
                .where(letters.c.id == sa.bindparam("letter_id"))
                .values({name: sa.bindparam(name) for name in _WHERE}),
                found,
            )


def _where(raw: str) -> dict[str, str | None]:
    """VIN, station and line of a payload that is a JSON object naming them as text."""
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        value = {}
    return {name: _text(value.get(name)) for name in _WHERE}


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > _LONGEST:
        return None
    return value.replace("\x00", "\\x00")


def downgrade() -> None:
    """Drop the workflow's columns and indexes; dismissed letters become open again."""
    connection = op.get_bind()
    connection.execute(
        sa.text("UPDATE dead_letters SET status = 'open' WHERE status = 'dismissed'")
    )
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_index("ix_dead_letters_vin")
        batch.drop_index("ix_dead_letters_status_received_at")
        batch.create_index("ix_dead_letters_status", ["status"])
        for name in ("handled_at", "handled_by", "assignee", "note", *reversed(_WHERE)):
            batch.drop_column(name)
