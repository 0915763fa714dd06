"""The production plan: numbered plan revisions and their rows (DESIGN.md contract 2b).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the empty `plan_revisions` and `plan_rows` tables."""
    op.create_table(
        "plan_revisions",
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )
    op.create_table(
        "plan_rows",
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("shift", sa.String(32), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("revision", "day", "line", "shift", "model"),
    )


def downgrade() -> None:
    """Drop the plan (its revisions and rows are lost)."""
    op.drop_table("plan_rows")
    op.drop_table("plan_revisions")
