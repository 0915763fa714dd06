"""The audit log names the API request of each record (the request id of its log lines).

Revision ID: 0017
Revises: 0016 (token lifetimes)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `request_id` (a plain ADD COLUMN: the append-only triggers stay)."""
    op.add_column("audit_log", sa.Column("request_id", sa.String(64)))


def downgrade() -> None:
    """Drop `request_id`."""
    with op.batch_alter_table("audit_log") as table:
        table.drop_column("request_id")
