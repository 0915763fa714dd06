"""Genealogy: an index for recall by supplier (`linespeed trace part P --supplier X`).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index installed parts by part and supplier (only rows that name a supplier)."""
    op.create_index(
        "ix_installed_parts_part_supplier",
        "installed_parts",
        ["part", "supplier"],
        sqlite_where=sa.text("supplier IS NOT NULL"),
        postgresql_where=sa.text("supplier IS NOT NULL"),
    )


def downgrade() -> None:
    """Drop the supplier index."""
    op.drop_index("ix_installed_parts_part_supplier", table_name="installed_parts")
