"""Supply: received pieces indexed by serial, for ingest's look-up of a batch's serials.

Revision ID: 0013
Revises: 0012 (kept KPI reports)
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index received pieces by serial."""
    op.create_index("ix_stock_pieces_serial", "stock_pieces", ["serial"])


def downgrade() -> None:
    """Drop the serial index."""
    op.drop_index("ix_stock_pieces_serial", table_name="stock_pieces")
