"""Bulk writes through the database driver, for the hot path of ingest.

`insert_rows` (COPY on PostgreSQL), `update_rows`, and `stamp_for`, which turns
timestamps into what the driver stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table

from linespeed.store.reads import param_marker
from linespeed.store.schema import utc_text

Stamp = Callable[[datetime], Any]
"""Turns an aware datetime into what the driver stores for a UtcDateTime column."""


def stamp_for(dialect: Dialect) -> Stamp:
    """How timestamps are passed to this database's driver (text on SQLite, native elsewhere)."""
    if dialect.name == "sqlite":
        return utc_text
    return _native


def _native(value: datetime) -> datetime:
    return value


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
    marker = param_marker(connection)
    columns = ", ".join(quote(column.name) for column in table.columns)
    markers = ", ".join([marker] * len(table.columns))
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({markers})",
        rows,
    )


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    import psycopg
    from psycopg import sql

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
    marker = param_marker(connection)
    assignments = ", ".join(f"{quote(table.c[name].name)} = {marker}" for name in columns)
    where = " AND ".join(f"{quote(table.c[name].name)} = {marker}" for name in keys)
    connection.exec_driver_sql(
        f"UPDATE {quote(table.name)} SET {assignments} WHERE {where}",
        rows,
    )
