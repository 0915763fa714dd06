"""Fresh planner statistics on PostgreSQL, kept by ingest itself.

A table that was never analysed, or has grown much since, leads the planner astray: with
no statistics of `installed_parts.serial`, the duplicate-serial check read every installed
part for every batch. Autovacuum may be off on a plant's server, so ingest analyses a
growing table once its size on disk is half as large again as at its last analysis (read
from the catalog, so every process that writes sees the same growth). SQLite plans
without statistics: nothing to do there.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from linespeed.store.schema import PROJECTIONS, events

GROWTH: Final = 1.5
"""A table is analysed again once it is this many times its size at the last analysis."""
LEAST_PAGES: Final = 8
"""Tables smaller than this many pages (64 KiB) are not worth analysing yet."""
GROWING_TABLES: Final = tuple(table.name for table in (events, *PROJECTIONS))
_STALE: Final = text(
    "SELECT c.relname FROM pg_class c"
    " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
    " AND c.relname IN :names"
    " AND pg_relation_size(c.oid) / current_setting('block_size')::int"
    " >= greatest(:least, :growth * c.relpages)"
    " ORDER BY c.relname"
).bindparams(bindparam("names", expanding=True))

log = logging.getLogger(__name__)


def stale_tables(connection: Connection) -> list[str]:
    """The growing tables due for analysis (none on SQLite)."""
    if connection.dialect.name != "postgresql":
        return []
    found = connection.execute(
        _STALE, {"names": list(GROWING_TABLES), "least": LEAST_PAGES, "growth": GROWTH}
    )
    return [name for (name,) in found]


def refresh_statistics(engine: Engine) -> list[str]:
    """ANALYZE the growing tables that are due; returns their names.

    Statistics only steer plans, so a failure is logged, not raised: the events are
    committed already.
    """
    if engine.dialect.name != "postgresql":
        return []
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            due = stale_tables(connection)
            for name in due:
                connection.exec_driver_sql(f'ANALYZE "{name}"')
    except SQLAlchemyError:
        log.warning("could not refresh the planner's statistics", exc_info=True)
        return []
    if due:
        log.info("analysed %s", ", ".join(due))
    return due
