"""The ramp's history from before linespeed: counts per month or week (`ramp import-history`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the empty `ramp_history` table."""
    op.create_table(
        "ramp_history",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period_end"),
    )


def downgrade() -> None:
    """Drop the imported history (its rows are lost)."""
    op.drop_table("ramp_history")
