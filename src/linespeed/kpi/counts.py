"""Counting queries, aggregated in SQL: cars started, completed, scrapped, in production;
inspected and first-pass cars; defects. Each takes a `Slicing`: time buckets (one per
report, or one per day / shift) and optionally a car attribute (model, colour) to group by.

Every query reads an index range per bucket (units.completed_at, inspections(station,
recorded_at), defects.opened_at, ...), except the count of cars started, which waits for an
index on units.started_at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    select,
)

from linespeed.kpi.sql import bucket_table, in_bucket
from linespeed.kpi.window import Bucket
from linespeed.store.schema import defects, inspections, station_visits, units

Attribute: TypeAlias = Literal["model", "color"]
Key: TypeAlias = tuple[int, str]
"""(group number, attribute value or "")."""


@dataclass(frozen=True)
class Slicing:
    """How to slice the counts: time buckets, and optionally a car attribute."""

    buckets: Sequence[Bucket]
    attribute: Attribute | None = None


def _sliced(
    slicing: Slicing,
    moment: ColumnElement[Any],
    columns: Sequence[ColumnElement[Any]],
    *,
    join_units: bool,
    base: Any,
) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """A SELECT of (group, attribute, *columns) from `base` restricted to the buckets.

    Returns the statement and the columns to GROUP BY.
    """
    source = base
    if join_units:
        source = source.join(units, units.c.vin == base.c.vin)
    attribute: ColumnElement[Any] = units.c[slicing.attribute] if slicing.attribute else literal("")
    if len(slicing.buckets) == 1:
        bucket = slicing.buckets[0]
        group: ColumnElement[Any] = literal(bucket.group)
        statement = (
            select(group, attribute, *columns)
            .select_from(source)
            .where(moment >= bucket.since, moment < bucket.until)
        )
        keys = [attribute] if slicing.attribute else []
    else:
        table = bucket_table(slicing.buckets)
        group = table.c.bucket_group
        statement = select(group, attribute, *columns).select_from(
            table.join(source, in_bucket(table, moment))
        )
        keys = [group, attribute] if slicing.attribute else [group]
    return statement, keys


def _counts(connection: Connection, statement: Select[Any]) -> dict[Key, int]:
    return {(int(row[0]), str(row[1])): int(row[2]) for row in connection.execute(statement)}


@dataclass
class UnitCounts:
    """Cars started, completed, completed without any defect, and scrapped."""

    produced: int = 0
    completed: int = 0
    good: int = 0
    scrapped: int = 0


def unit_counts(connection: Connection, slicing: Slicing) -> dict[tuple[int, str, str], UnitCounts]:
    """Car counts per (group, attribute, line)."""
    result: dict[tuple[int, str, str], UnitCounts] = defaultdict(UnitCounts)
    no_defect = ~exists().where(defects.c.vin == units.c.vin)
    queries: list[tuple[str, ColumnElement[Any], list[ColumnElement[bool]]]] = [
        ("produced", units.c.started_at, []),
        ("completed", units.c.completed_at, []),
        ("good", units.c.completed_at, [no_defect]),
        ("scrapped", units.c.scrapped_at, [units.c.status == "scrapped"]),
    ]
    for name, moment, conditions in queries:
        statement, keys = _sliced(
            slicing, moment, [units.c.line, func.count()], join_units=False, base=units
        )
        statement = statement.where(*conditions).group_by(*keys, units.c.line)
        for row in connection.execute(statement):
            counts = result[(int(row[0]), str(row[1]), str(row[2]))]
            setattr(counts, name, int(row[3]))
    return result


def wip_at(connection: Connection, moment: datetime, attribute: Attribute | None) -> dict[str, int]:
    """Cars in production at `moment` (started before it, not completed or scrapped before it).

    Counted from whichever end of the history is nearer `moment`: either
    started(< t) - completed(< t) - scrapped(< t), or
    in production now + completed(>= t) + scrapped(>= t) - started(>= t).
    """
    key: ColumnElement[Any] = units.c[attribute] if attribute else literal("")
    after = _nearer_end(connection, moment)
    sign = 1 if after else -1
    parts: list[tuple[int, ColumnElement[bool]]] = [
        (-sign, units.c.started_at >= moment if after else units.c.started_at < moment),
        (sign, units.c.completed_at >= moment if after else units.c.completed_at < moment),
        (
            sign,
            and_(
                units.c.status == "scrapped",
                units.c.scrapped_at >= moment if after else units.c.scrapped_at < moment,
            ),
        ),
    ]
    if after:
        parts.append((1, units.c.status == "in_production"))
    totals: dict[str, int] = defaultdict(int)
    for factor, condition in parts:
        statement = select(key, func.count()).where(condition)
        if attribute:
            statement = statement.group_by(key)
        for value, count in connection.execute(statement):
            totals[str(value)] += factor * int(count)
    return dict(totals)


def _nearer_end(connection: Connection, moment: datetime) -> bool:
    """Whether fewer cars were completed after `moment` than before it (index look-ups only)."""
    first_after = connection.execute(
        select(units.c.completion_seq)
        .where(units.c.completed_at >= moment)
        .order_by(units.c.completed_at)
        .limit(1)
    ).scalar()
    if first_after is None:
        return True
    newest = connection.execute(select(func.max(units.c.completion_seq))).scalar() or 0
    return newest - int(first_after) < int(first_after)


@dataclass
class QualityCounts:
    """Cars with a check recorded, cars with a failed one, and defects opened."""

    inspected: int = 0
    failed: int = 0
    defects: int = 0

    @property
    def first_pass(self) -> int:
        """Inspected cars without a failed check."""
        return self.inspected - self.failed


def quality_counts(
    connection: Connection, slicing: Slicing, stations: Sequence[str]
) -> dict[Key, QualityCounts]:
    """Inspected cars, failed cars and defects per (group, attribute)."""
    result: dict[Key, QualityCounts] = defaultdict(QualityCounts)
    join = slicing.attribute is not None
    checked = inspections.c
    statement, keys = _sliced(
        slicing,
        checked.recorded_at,
        [func.count(distinct(checked.vin)), func.count(distinct(_failed_vin()))],
        join_units=join,
        base=inspections,
    )
    statement = statement.where(checked.station.in_(stations)).group_by(*keys)
    for group, value, inspected, failed in connection.execute(statement):
        counts = result[(int(group), str(value))]
        counts.inspected, counts.failed = int(inspected), int(failed)
    statement, keys = _sliced(
        slicing, defects.c.opened_at, [func.count()], join_units=join, base=defects
    )
    for key, count in _counts(connection, statement.group_by(*keys)).items():
        result[key].defects = count
    return result


def _failed_vin() -> ColumnElement[Any]:
    """The VIN of an inspection row that failed, else NULL (for COUNT(DISTINCT ...))."""
    return case((inspections.c.result == "fail", inspections.c.vin))


def defect_pareto(
    connection: Connection, bucket: Bucket
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Defects opened in the bucket by code and by station: (key, count), most first."""
    window = and_(defects.c.opened_at >= bucket.since, defects.c.opened_at < bucket.until)
    pareto: list[list[tuple[str, int]]] = []
    for column in (defects.c.code, defects.c.station):
        rows = connection.execute(select(column, func.count()).where(window).group_by(column))
        pareto.append(sorted(((str(k), int(n)) for k, n in rows), key=lambda e: (-e[1], e[0])))
    return pareto[0], pareto[1]


@dataclass
class StationCounts:
    """One station in the window: processed, bad, scrapped there, inspected and failed cars."""

    processed: int = 0
    bad: int = 0
    scrapped: int = 0
    inspected: int = 0
    failed: int = 0
    defects: int = 0


def station_counts(
    connection: Connection, bucket: Bucket, stations: Sequence[str]
) -> dict[str, StationCounts]:
    """Per-station counts over one bucket.

    `bad` counts the cars with a failed check at the station in the bucket, except cars
    scrapped there (they were never processed there); at most the cars processed. A `nok`
    visit result alone does not make a car bad (docs/events.md: it holds nothing).
    """
    result: dict[str, StationCounts] = {station: StationCounts() for station in stations}
    visits, checked = station_visits.c, inspections.c
    in_visits = and_(
        visits.station.in_(stations),
        visits.completed_at >= bucket.since,
        visits.completed_at < bucket.until,
    )
    in_checks = and_(
        checked.station.in_(stations),
        checked.recorded_at >= bucket.since,
        checked.recorded_at < bucket.until,
    )
    for station, processed in connection.execute(
        select(visits.station, func.count()).where(in_visits).group_by(visits.station)
    ):
        result[station].processed = int(processed)
    scrapped_here = (
        select(units.c.vin)
        .where(
            units.c.vin == checked.vin,
            units.c.status == "scrapped",
            units.c.scrap_station == checked.station,
        )
        .exists()
    )
    failed_processed = case((and_(checked.result == "fail", ~scrapped_here), checked.vin))
    for station, inspected, failed, bad in connection.execute(
        select(
            checked.station,
            func.count(distinct(checked.vin)),
            func.count(distinct(_failed_vin())),
            func.count(distinct(failed_processed)),
        )
        .where(in_checks)
        .group_by(checked.station)
    ):
        counts = result[station]
        counts.inspected, counts.failed = int(inspected), int(failed)
        counts.bad = min(int(bad), counts.processed)
    for name, statement in (
        (
            "scrapped",
            select(units.c.scrap_station, func.count())
            .where(
                units.c.status == "scrapped",
                units.c.scrapped_at >= bucket.since,
                units.c.scrapped_at < bucket.until,
            )
            .group_by(units.c.scrap_station),
        ),
        (
            "defects",
            select(defects.c.station, func.count())
            .where(defects.c.opened_at >= bucket.since, defects.c.opened_at < bucket.until)
            .group_by(defects.c.station),
        ),
    ):
        for station, count in connection.execute(statement):
            if station in result:
                setattr(result[station], name, int(count))
    return result
