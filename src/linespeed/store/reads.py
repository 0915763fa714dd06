"""Raw reads through the database driver, for the queries a user waits on.

`select_rows` and `select_in` skip statement compilation and result processing;
timestamps come back as the driver returns them, read with `stamp_reader_for(dialect)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect

_IN_CHUNK = 5_000
_IN_VALUES = "IN ({values})"

StampReader = Callable[[Any], datetime | None]
"""Turns what the driver returns for a UtcDateTime column back into an aware UTC datetime."""


def stamp_reader_for(dialect: Dialect) -> StampReader:
    """How to read timestamps from raw rows of this database (the inverse of
    `store.writes.stamp_for`)."""
    if dialect.name == "sqlite":
        return _from_text
    return _to_utc


def _from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _to_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def select_rows(connection: Connection, sql: str, *values: Any) -> Sequence[Any]:
    """Rows of `sql`, with `{}` for each parameter marker, as the driver returns them.

    Rows are named tuples: read columns by their name in the SELECT list.
    For queries a user waits on: no statement compilation, no per-value result processing.
    Timestamps come back raw: read them with `stamp_reader_for(dialect)`.
    """
    query = sql.format(*[param_marker(connection)] * len(values))
    return connection.exec_driver_sql(query, values).all()


def select_in(connection: Connection, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of `sql`, whose `{values}` placeholder is filled with `values` in chunks.

    Runs through the driver without per-statement compilation; values come back raw. On
    PostgreSQL `IN ({values})` becomes `= ANY(array)`: one parameter, whatever the count.
    """
    if connection.dialect.name == "postgresql" and _IN_VALUES in sql:
        if not values:
            return []
        query = sql.replace(_IN_VALUES, "= ANY(%s)")
        return [tuple(row) for row in connection.exec_driver_sql(query, (list(values),))]
    marker = param_marker(connection)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = tuple(values[start : start + _IN_CHUNK])
        query = sql.format(values=", ".join([marker] * len(chunk)))
        found.extend(tuple(row) for row in connection.exec_driver_sql(query, chunk))
    return found


def param_marker(connection: Connection) -> str:
    """The driver's parameter marker: `?` (SQLite) or `%s` (psycopg)."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"
