"""Initial schema: event log, projections, plant revisions, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 07:23:51.664467
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from linespeed.store.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "milestone_plans",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start_seq", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("planned_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letters_raw_sha256", ["raw_sha256"], unique=False)
        batch_op.create_index("ix_dead_letters_status", ["status"], unique=False)

    op.create_table(
        "defects",
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("defect", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("closed_station", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("vin", "defect"),
    )
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.create_index("ix_defects_opened_at", ["opened_at"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_table(
        "inspections",
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("check", sa.String(length=200), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspections_station_recorded_at",
            ["station", "recorded_at", "result", "vin"],
            unique=False,
        )
        batch_op.create_index("ix_inspections_vin", ["vin"], unique=False)

    op.create_table(
        "installed_parts",
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=True),
        sa.Column("lot", sa.String(length=200), nullable=True),
        sa.Column("supplier", sa.String(length=200), nullable=True),
        sa.Column("installed_at", UtcDateTime(), nullable=False),
        sa.Column("removed_at", UtcDateTime(), nullable=True),
    )
    with op.batch_alter_table("installed_parts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_installed_parts_part_lot",
            ["part", "lot"],
            unique=False,
            sqlite_where=sa.text("lot IS NOT NULL"),
            postgresql_where=sa.text("lot IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_installed_parts_serial_part",
            ["serial", "part"],
            unique=False,
            sqlite_where=sa.text("serial IS NOT NULL"),
            postgresql_where=sa.text("serial IS NOT NULL"),
        )
        batch_op.create_index("ix_installed_parts_vin", ["vin"], unique=False)

    op.create_table(
        "plant_revisions",
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("plant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )
    op.create_table(
        "station_states",
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
    )
    with op.batch_alter_table("station_states", schema=None) as batch_op:
        batch_op.create_index(
            "ix_station_states_station_started_at", ["station", "started_at"], unique=False
        )

    op.create_table(
        "station_visits",
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
    )
    with op.batch_alter_table("station_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_station_visits_station_completed_at",
            ["station", "completed_at", "started_at", "vin"],
            unique=False,
        )
        batch_op.create_index("ix_station_visits_vin", ["vin"], unique=False)

    op.create_table(
        "units",
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_seq", sa.Integer(), nullable=False),
        sa.Column("completion_seq", sa.Integer(), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("scrapped_at", UtcDateTime(), nullable=True),
        sa.Column("shipped_at", UtcDateTime(), nullable=True),
        sa.Column("current_station", sa.String(length=64), nullable=True),
        sa.Column("last_station", sa.String(length=64), nullable=True),
        sa.Column("scrap_station", sa.String(length=64), nullable=True),
        sa.Column("scrap_reason", sa.Text(), nullable=True),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("vin"),
        sa.UniqueConstraint("completion_seq", name="uq_units_completion_seq"),
        sa.UniqueConstraint("start_seq", name="uq_units_start_seq"),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index("ix_units_completed_at", ["completed_at"], unique=False)
        batch_op.create_index("ix_units_started_at", ["started_at"], unique=False)
        batch_op.create_index("ix_units_status", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("milestone_plans")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index("ix_units_status")
        batch_op.drop_index("ix_units_started_at")
        batch_op.drop_index("ix_units_completed_at")

    op.drop_table("units")
    with op.batch_alter_table("station_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_station_visits_vin")
        batch_op.drop_index("ix_station_visits_station_completed_at")

    op.drop_table("station_visits")
    with op.batch_alter_table("station_states", schema=None) as batch_op:
        batch_op.drop_index("ix_station_states_station_started_at")

    op.drop_table("station_states")
    op.drop_table("plant_revisions")
    with op.batch_alter_table("installed_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_installed_parts_vin")
        batch_op.drop_index("ix_installed_parts_serial_part")
        batch_op.drop_index("ix_installed_parts_part_lot")

    op.drop_table("installed_parts")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_inspections_vin")
        batch_op.drop_index("ix_inspections_station_recorded_at")

    op.drop_table("inspections")
    op.drop_table("events")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index("ix_defects_opened_at")

    op.drop_table("defects")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letters_status")
        batch_op.drop_index("ix_dead_letters_raw_sha256")

    op.drop_table("dead_letters")
