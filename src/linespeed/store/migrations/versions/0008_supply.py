"""The stock ledger: goods receipts and counts, pieces consumed, serialized pieces received.

`stock_moves` holds one row per `part.received` or `stock.counted`; `stock_consumed` the
pieces consumed per part, lot and day; `stock_pieces` every serialized piece received;
`stock_unreceived` the serialized pieces installed but never received. They
are projections of the event log: a store made before this revision starts with them
empty, and `linespeed rebuild` books the consumption of its history.

Revision ID: 0008
Revises: 0007 (the production plan)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _seq() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the empty stock ledger tables."""
    op.create_table(
        "stock_moves",
        sa.Column("seq", _seq(), autoincrement=False, nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("lot", sa.String(length=200), nullable=True),
        sa.Column("supplier", sa.String(length=200), nullable=True),
        sa.Column("counted", sa.BigInteger(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_stock_moves_part", "stock_moves", ["part", "kind", "seq"])
    op.create_table(
        "stock_consumed",
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("part", "lot", "day"),
    )
    op.create_table(
        "stock_pieces",
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=200), nullable=True),
        sa.Column("supplier", sa.String(length=200), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("part", "serial"),
    )
    op.create_table(
        "stock_unreceived",
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("installed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("part", "serial", "vin"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Drop the stock ledger."""
    op.drop_table("stock_unreceived")
    op.drop_table("stock_pieces")
    op.drop_table("stock_consumed")
    op.drop_index("ix_stock_moves_part", table_name="stock_moves")
    op.drop_table("stock_moves")
