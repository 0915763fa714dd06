"""SQL helpers shared by the KPI queries: epoch seconds per dialect, time buckets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, and_, column, values
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from linespeed.kpi.window import Bucket
from linespeed.store.schema import UtcDateTime


class epoch_s(FunctionElement[float]):  # noqa: N801 (reads like the SQL function it stands for)
    """Seconds since 1970-01-01 UTC of a UtcDateTime column, as a float, in SQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_s)
def _epoch_s_default(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores fixed-width ISO text; julianday() reads it to the millisecond.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_s, "postgresql")
def _epoch_s_postgresql(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"CAST(extract(epoch from {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"
    )


class by_vin_only(FunctionElement[Any]):  # noqa: N801 (reads like the SQL it stands for)
    """A column that the query planner must not look up by index (SQLite: `+column`).

    In a look-up of one car's rows (`vin = ...`), a condition on another indexed column
    would lead SQLite, which keeps no statistics, to scan a range of that index (every
    check at a station before a time) instead of the car's few rows.
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        """Wraps `column`, keeping its type."""
        super().__init__(column)
        self.type = column.type


@compiles(by_vin_only)
def _by_vin_only_default(element: by_vin_only, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(by_vin_only, "sqlite")
def _by_vin_only_sqlite(element: by_vin_only, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def bucket_table(buckets: Sequence[Bucket]) -> Any:
    """The buckets as a common table expression (group, since, until) of VALUES rows."""
    return (
        values(
            column("bucket_group", Integer),
            column("bucket_since", UtcDateTime()),
            column("bucket_until", UtcDateTime()),
            name="buckets",
        )
        .data([(bucket.group, bucket.since, bucket.until) for bucket in buckets])
        .cte("buckets")
    )


def in_bucket(table: Any, moment: ColumnElement[Any]) -> ColumnElement[bool]:
    """The join condition: `moment` falls inside the bucket row of `table`."""
    return and_(moment >= table.c.bucket_since, moment < table.c.bucket_until)
