"""Genealogy corrections: `installed_parts` records whether a piece was put in by an
engineer's correction (`part.installed` with `correction: true`) and why a piece was taken
out (`part.removed`'s reason).

Both are projections of the event log: rows of a store made before this revision are
ordinary installs with no removal reason, as their events say.

Revision ID: 0010
Revises: 0009 (the ramp's history)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `correction` (false for every stored piece) and `removed_reason`."""
    with op.batch_alter_table("installed_parts") as batch:
        batch.add_column(
            sa.Column("correction", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("removed_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("installed_parts") as batch:
        batch.drop_column("removed_reason")
        batch.drop_column("correction")
