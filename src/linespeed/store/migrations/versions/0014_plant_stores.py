"""Several plants in one store: the registry of the store's other plants.

Revision ID: 0014
Revises: 0013 (stock pieces by serial)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the registry of plant stores."""
    op.create_table(
        "plant_stores",
        sa.Column("plant_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the registry (the plants' own schemas or files stay)."""
    op.drop_table("plant_stores")
