"""The idempotency key of an event becomes (scope, id): a station's ids are its own.

The scope is `station:<id>` for an event that names a station and `line:<id>` for the
others, so no station can claim an id that another station's event will carry. Existing
events get the scope their stored body (or, for a car's events that name neither, the
car's line) gives.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FIELD = {
    "sqlite": "json_extract(body, '$.{name}')",
    "postgresql": "(body::jsonb ->> '{name}')",
}


def upgrade() -> None:
    """Add `id_scope`, fill it from the stored events, and make (event_id, id_scope) unique."""
    op.add_column("events", sa.Column("id_scope", sa.String(256), nullable=True))
    field = _FIELD[op.get_bind().dialect.name]
    op.execute(
        "UPDATE events SET id_scope = COALESCE("
        f"'station:' || {field.format(name='station')}, "
        f"'line:' || {field.format(name='line')}, "
        "'line:' || (SELECT units.line FROM units WHERE units.vin = events.vin), "
        "'line:')"
    )
    with op.batch_alter_table("events") as batch:
        batch.alter_column("id_scope", existing_type=sa.String(256), nullable=False)
        batch.drop_constraint("uq_events_event_id", type_="unique")
        batch.create_unique_constraint("uq_events_event_id_scope", ["event_id", "id_scope"])


def downgrade() -> None:
    """Back to one global event id (fails if two scopes share an id)."""
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_event_id_scope", type_="unique")
        batch.create_unique_constraint("uq_events_event_id", ["event_id"])
        batch.drop_column("id_scope")
