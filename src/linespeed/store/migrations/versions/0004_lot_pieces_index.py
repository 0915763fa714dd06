"""Recall by lot reads only an index: (part, lot) widened with what a recall shows of a piece.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PIECE = ["part", "lot", "vin", "serial", "supplier", "station", "installed_at", "removed_at"]


def upgrade() -> None:
    """Replace the (part, lot) index with one that covers a recall's columns."""
    op.create_index(
        "ix_installed_parts_lot_pieces",
        "installed_parts",
        _PIECE,
        sqlite_where=sa.text("lot IS NOT NULL"),
        postgresql_where=sa.text("lot IS NOT NULL"),
    )
    op.drop_index("ix_installed_parts_part_lot", table_name="installed_parts")


def downgrade() -> None:
    """Back to the plain (part, lot) index."""
    op.create_index(
        "ix_installed_parts_part_lot",
        "installed_parts",
        ["part", "lot"],
        sqlite_where=sa.text("lot IS NOT NULL"),
        postgresql_where=sa.text("lot IS NOT NULL"),
    )
    op.drop_index("ix_installed_parts_lot_pieces", table_name="installed_parts")
