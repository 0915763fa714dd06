"""Store settings: a key/value table; it remembers whether the store is a simulation store.

A store migrated from before this revision has no setting, so it is a real store.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the empty `store_settings` table."""
    op.create_table(
        "store_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Drop `store_settings` (a simulation store then reads as a real one)."""
    op.drop_table("store_settings")
