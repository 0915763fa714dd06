"""API tokens: an optional expiry, and when each was last used.

Revision ID: 0016
Revises: 0015 (dead letters as a workflow)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `expires_at` and `last_used_at` to the tokens."""
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("expires_at", UtcDateTime()))
        table.add_column(sa.Column("last_used_at", UtcDateTime()))


def downgrade() -> None:
    """Drop the tokens' expiry and last use."""
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("last_used_at")
        table.drop_column("expires_at")
