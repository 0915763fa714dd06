"""The database schema (SQLAlchemy Core): the event log, projections, master data, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp: `timestamptz` on PostgreSQL, fixed-width ISO text on SQLite.

    The SQLite text ("2025-06-30T01:41:07.120000Z") sorts in time order.
    """

    impl = String(27)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Native timestamptz on PostgreSQL, text elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(27))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Store aware datetimes in UTC."""
        if value is None or dialect.name == "postgresql":
            return value
        return utc_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromisoformat(value)


def utc_text(value: datetime) -> str:
    """The fixed-width UTC text form of an aware datetime (what SQLite stores)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = _encode_datetime(value)[1:-2].decode()  # RFC 3339 without quotes and "Z"
    return text + ".000000Z" if len(text) == 19 else text + "Z"


_encode_datetime = msgspec.json.Encoder().encode


metadata = MetaData()

plant_revisions = Table(
    "plant_revisions",
    metadata,
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("plant_id", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("document", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("event_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("vin", String(17)),
    Column("revision", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("id_scope", String(256), nullable=False),
    # The idempotency key: a station's (or, without one, a line's) ids are its own.
    UniqueConstraint("event_id", "id_scope", name="uq_events_event_id_scope"),
)

units = Table(
    "units",
    metadata,
    Column("vin", String(17), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("color", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_seq", Integer, nullable=False),
    Column("completion_seq", Integer),
    Column("started_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("scrapped_at", UtcDateTime),
    Column("shipped_at", UtcDateTime),
    Column("current_station", String(64)),
    Column("last_station", String(64)),
    Column("scrap_station", String(64)),
    Column("scrap_reason", Text),
    Column("destination", Text),
    UniqueConstraint("start_seq", name="uq_units_start_seq"),
    UniqueConstraint("completion_seq", name="uq_units_completion_seq"),
    Index("ix_units_status", "status"),
    Index("ix_units_completed_at", "completed_at"),
    Index("ix_units_started_at", "started_at"),
)

station_visits = Table(
    "station_visits",
    metadata,
    Column("vin", String(17), nullable=False),
    Column("station", String(64), nullable=False),
    Column("started_at", UtcDateTime),
    Column("completed_at", UtcDateTime, nullable=False),
    Column("result", String(8), nullable=False),
    Index("ix_station_visits_vin", "vin"),
    # covering: KPIs and the bottleneck read a day's visits from the index alone
    Index("ix_station_visits_station_completed_at", "station", "completed_at", "started_at", "vin"),
)

installed_parts = Table(
    "installed_parts",
    metadata,
    Column("vin", String(17), nullable=False),
    Column("station", String(64), nullable=False),
    Column("part", String(200), nullable=False),
    Column("serial", String(200)),
    Column("lot", String(200)),
    Column("supplier", String(200)),
    Column("installed_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    # An engineer's correction (`part.installed` with `correction: true`), and why a piece
    # was taken out (`part.removed`'s reason; NULL when a newer piece replaced it).
    Column("correction", Boolean, nullable=False, server_default=false()),
    Column("removed_reason", Text),
    Index("ix_installed_parts_vin", "vin"),
    # Partial: a part is tracked by lot or by serial, so each row needs only one of these.
    # Recall by lot reads every piece of a lot (thousands of cars): the index holds what a
    # recall shows of a piece, so it never visits the table (index-only).
    Index(
        "ix_installed_parts_lot_pieces",
        "part",
        "lot",
        "vin",
        "serial",
        "supplier",
        "station",
        "installed_at",
        "removed_at",
        sqlite_where=text("lot IS NOT NULL"),
        postgresql_where=text("lot IS NOT NULL"),
    ),
    Index(
        "ix_installed_parts_serial_part",
        "serial",
        "part",
        sqlite_where=text("serial IS NOT NULL"),
        postgresql_where=text("serial IS NOT NULL"),
    ),
    # Recall by supplier (`trace part P --supplier X`).
    Index(
        "ix_installed_parts_part_supplier",
        "part",
        "supplier",
        sqlite_where=text("supplier IS NOT NULL"),
        postgresql_where=text("supplier IS NOT NULL"),
    ),
)

inspections = Table(
    "inspections",
    metadata,
    Column("vin", String(17), nullable=False),
    Column("station", String(64), nullable=False),
    Column("check", String(200), nullable=False),
    Column("result", String(8), nullable=False),
    Column("value", Float),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_inspections_vin", "vin"),
    Index("ix_inspections_station_recorded_at", "station", "recorded_at", "result", "vin"),
)

defects = Table(
    "defects",
    metadata,
    Column("vin", String(17), primary_key=True),
    Column("defect", String(200), primary_key=True),
    Column("station", String(64), nullable=False),
    Column("code", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("action", String(16)),
    Column("closed_station", String(64)),
    Index("ix_defects_opened_at", "opened_at"),
)

station_states = Table(
    "station_states",
    metadata,
    Column("station", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Index("ix_station_states_station_started_at", "station", "started_at"),
)

milestone_plans = Table(
    "milestone_plans",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("start_seq", Integer, nullable=False),
    Column("vin", String(17)),
    Column("probability", Float, nullable=False),
    Column("planned_at", UtcDateTime, nullable=False),
)
"""Which car was chosen to be built in the milestone colour for each milestone number.

Operators' decisions, not derived from events: `rebuild` leaves them alone."""

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("source", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("event_id", Text),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("vin", Text),
    Column("station", Text),
    Column("line", Text),
    Column("note", Text),
    Column("assignee", Text),
    Column("handled_by", Text),
    Column("handled_at", UtcDateTime),
    Index("ix_dead_letters_status_received_at", "status", "received_at"),
    Index("ix_dead_letters_raw_sha256", "raw_sha256"),
    Index("ix_dead_letters_vin", "vin"),
)
"""Refused payloads: `status` is `open`, `resolved` (accepted on a retry) or `dismissed` (by a
person, with a `note`); `vin`, `station` and `line` are read from the payload when it is JSON
that names them (NULL otherwise); `handled_by` and `handled_at` say who last dismissed or
assigned the letter, and when."""

PROJECTIONS: tuple[Table, ...] = (
    units,
    station_visits,
    installed_parts,
    inspections,
    defects,
    station_states,
)
"""The tables derived from `events` alone, rebuilt by `linespeed rebuild` (the stock ledger's
are added at the end of this module)."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("stations", Text),
    Column("label", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
)
"""HTTP API bearer tokens, stored as SHA-256 hashes; `stations` is a JSON list or NULL (all);
`expires_at` NULL: never; `last_used_at` to the minute (`linespeed.access.tokens`)."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_id", Integer),
    Column("at", UtcDateTime, nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    Column("request_id", String(64)),
    Index("ix_audit_log_at", "at"),
)
"""Every write request to the HTTP API: who, when, what, outcome, and the request's id (its
log lines carry it; NULL for the command line's records). Append-only (triggers)."""

store_settings = Table(
    "store_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Settings of the store itself, one row per key (see `linespeed.store.settings`)."""

plan_revisions = Table(
    "plan_revisions",
    metadata,
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("source", Text, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("quantity", BigInteger, nullable=False),
)
"""Production plan revisions, one per import; a revision covers its first to its last day.

Operators' data, not derived from events: `rebuild` leaves the plan alone."""

plan_rows = Table(
    "plan_rows",
    metadata,
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("shift", String(32), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
)
"""The rows of each plan revision; an empty `shift` is every shift, an empty `model` every model."""

# The stock ledger (issue 13, the supply): projections of `part.received`, `stock.counted`
# and the consumption of accepted installs, backflushed stations and completed cars.

stock_moves = Table(
    "stock_moves",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("part", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("lot", String(200)),
    Column("supplier", String(200)),
    Column("counted", BigInteger),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_stock_moves_part", "part", "kind", "seq"),
)
"""Goods receipts (`received`, quantity > 0) and counts (`adjusted`: the count less what was
on hand, `counted` the count), one row per event; `seq` is the event's."""

stock_consumed = Table(
    "stock_consumed",
    metadata,
    Column("part", String(200), primary_key=True),
    Column("lot", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)
"""Pieces consumed per part, lot ("" where none is named) and UTC day: installs, backflushed
stations and completed cars of lines tracked by unit, summed (the same whatever the batches)."""

stock_pieces = Table(
    "stock_pieces",
    metadata,
    Column("part", String(200), primary_key=True),
    Column("serial", String(200), primary_key=True),
    Column("lot", String(200)),
    Column("supplier", String(200)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("seq", BigInteger, nullable=False),
    # Ingest asks which of a batch's serials were received, by serial (`Projector`): without
    # it every batch read every piece ever received, slower as the plant grew.
    Index("ix_stock_pieces_serial", "serial"),
)
"""Every serialized piece received, by (part, serial): a serial is received once."""

stock_unreceived = Table(
    "stock_unreceived",
    metadata,
    Column("part", String(200), primary_key=True),
    Column("serial", String(200), primary_key=True),
    Column("vin", String(17), primary_key=True),
    Column("installed_at", UtcDateTime, nullable=False),
    sqlite_with_rowid=False,
)
"""Serialized pieces installed but never received (flagged): a receipt of the piece removes
its rows."""

PROJECTIONS = (*PROJECTIONS, stock_moves, stock_consumed, stock_pieces, stock_unreceived)

ramp_history = Table(
    "ramp_history",
    metadata,
    Column("period_end", Date, primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)
"""Cars completed per month or week before linespeed (`ramp import-history`): points of the
ramp before the store's own, creating no cars. Operators' data: `rebuild` leaves it alone."""

kpi_reports = Table(
    "kpi_reports",
    metadata,
    Column("since", UtcDateTime, primary_key=True),
    Column("until", UtcDateTime, primary_key=True),
    Column("grouping", String(16), primary_key=True),
    Column("report", Text, nullable=False),
    Column("plant_revision", Integer, nullable=False),
    Column("plan_revision", Integer, nullable=False),
    Column("as_of_seq", BigInteger, nullable=False),
)
"""KPI reports of finished plant-local days and shifts (`grouping`: the report's `by`, ""
for none), computed once and kept as JSON, as of event `as_of_seq` under the plant and plan
revisions named. A cache the KPI query keeps itself (`linespeed.kpi.finished`); `rebuild`
empties it."""

PROJECTIONS = (*PROJECTIONS, kpi_reports)

plant_stores = Table(
    "plant_stores",
    metadata,
    Column("plant_id", String(64), primary_key=True),
    Column("location", Text, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)
"""The store's other plants (`linespeed.store.plant_stores`): each in a schema (PostgreSQL,
`location` is its name) or file (SQLite, `<stem>.<location>.db` beside the first's) of its
own. The store's first plant lives beside this table and is not listed in it; a plant's own
store leaves it empty."""

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("kinds", Text, nullable=False),
    Column("secret", Text),
    Column("after_seq", BigInteger, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)
"""The plant's webhooks (`linespeed.webhooks`): where news of `kinds` (comma-separated:
`milestone`, `station.down`, `shortage`) is POSTed, signed with `secret` if set.
`after_seq` is the resume point: every event up to it is in the delivery log or needs no
delivery. Ids are never reused. Operators' data: `rebuild` leaves it alone."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_attempt_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    UniqueConstraint("webhook_id", "seq", name="uq_webhook_deliveries_webhook_seq"),
    Index("ix_webhook_deliveries_status", "status", "webhook_id"),
    sqlite_autoincrement=True,
)
"""The delivery log: one row per news item queued for a webhook, in event order, with the
exact `body` sent; `status` `retrying` (not delivered yet; the next attempt is due at
`next_attempt_at`), `delivered` or `failed` (given up). A webhook has at most one
`retrying` row: the item it is working on."""
