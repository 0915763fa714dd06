"""Bulk inserts through the database driver, for the hot path of ingest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Dialect, Table

from linespeed.store.schema import utc_text

_IN_CHUNK = 5_000

Stamp = Callable[[datetime], Any]
"""Turns an aware datetime into what the driver stores for a UtcDateTime column."""


def stamp_for(dialect: Dialect) -> Stamp:
    """How timestamps are passed to this database's driver (text on SQLite, native elsewhere)."""
    if dialect.name == "sqlite":
        return utc_text
    return _native


def _native(value: datetime) -> datetime:
    return value


StampReader = Callable[[Any], datetime | None]
"""Turns what the driver returns for a UtcDateTime column back into an aware UTC datetime."""


def stamp_reader_for(dialect: Dialect) -> StampReader:
    """How to read timestamps from raw rows of this database (the inverse of `stamp_for`)."""
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
    """Rows (tuples) of `sql`, with `{}` for each parameter marker, as the driver returns them.

    For queries a user waits on: no statement compilation, no per-value result processing.
    Timestamps come back raw: read them with `stamp_reader_for(dialect)`.
    """
    query = sql.format(*[_marker(connection)] * len(values))
    return connection.exec_driver_sql(query, values).all()


def insert_rows(connection: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows given as sequences in the table's column order.

    One COPY on PostgreSQL, one executemany elsewhere. Values go to the driver as they
    are: timestamps must already be passed through `stamp_for(dialect)`.
    """
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, rows)
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = _marker(connection)
    columns = ", ".join(quote(column.name) for column in table.columns)
    markers = ", ".join([marker] * len(table.columns))
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({markers})",
        rows,
    )


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table.name),
        columns=sql.SQL(", ").join(sql.Identifier(column.name) for column in table.columns),
    )
    driver_connection = connection.connection.driver_connection
    assert isinstance(driver_connection, psycopg.Connection)  # the only PostgreSQL driver
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def update_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Set `columns` in the rows found by `keys`, in one executemany.

    Each row gives the new values of `columns`, then the values of `keys`, as the driver
    takes them (timestamps passed through `stamp_for(dialect)`).
    """
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = _marker(connection)
    assignments = ", ".join(f"{quote(table.c[name].name)} = {marker}" for name in columns)
    where = " AND ".join(f"{quote(table.c[name].name)} = {marker}" for name in keys)
    connection.exec_driver_sql(
        f"UPDATE {quote(table.name)} SET {assignments} WHERE {where}",
        rows,
    )


def select_in(connection: Connection, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of `sql`, whose `{values}` placeholder is filled with `values` in chunks.

    Runs through the driver without per-statement compilation; values come back raw.
    """
    marker = _marker(connection)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = tuple(values[start : start + _IN_CHUNK])
        query = sql.format(values=", ".join([marker] * len(chunk)))
        found.extend(tuple(row) for row in connection.exec_driver_sql(query, chunk))
    return found


def _marker(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"
