"""KPI reports of finished days and shifts, computed once: `kpi_reports`.

A cache the KPI query fills on first use (nothing to backfill): a store made before this
revision starts with it empty.

Revision ID: 0012
Revises: 0011 (compact event bodies)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `kpi_reports`."""
    op.create_table(
        "kpi_reports",
        sa.Column("since", UtcDateTime(), primary_key=True),
        sa.Column("until", UtcDateTime(), primary_key=True),
        sa.Column("grouping", sa.String(16), primary_key=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("plant_revision", sa.Integer(), nullable=False),
        sa.Column("plan_revision", sa.Integer(), nullable=False),
        sa.Column("as_of_seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop `kpi_reports`."""
    op.drop_table("kpi_reports")
