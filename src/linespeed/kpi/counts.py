"""Counting queries, aggregated in SQL: cars started, completed, scrapped, in production;
inspected and first-time-through cars; defects. Each takes a `Slicing`: time buckets (one per
report, or one per day / shift) and optionally a car attribute (model, colour) to group by.

Every query reads an index range per bucket (units.completed_at, inspections(station,
recorded_at), defects.opened_at, ...), except the count of cars started, which waits for an
index on units.started_at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
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
    or_,
    select,
    union,
    union_all,
)

from linespeed.kpi.sql import bucket_table, by_vin_only, in_bucket
from linespeed.kpi.window import Bucket
from linespeed.store.schema import UtcDateTime, defects, inspections, station_visits, units

Attribute: TypeAlias = Literal["model", "color"]
Key: TypeAlias = tuple[int, str]
"""(group number, attribute value or "")."""
Columns: TypeAlias = Callable[[ColumnElement[Any]], Sequence[ColumnElement[Any]]]
"""The columns of a sliced count, given the end of each row's bucket."""
StationScope: TypeAlias = Callable[[ColumnElement[Any]], ColumnElement[bool]]
"""Which stations' findings count, given a finding's station column."""


@dataclass(frozen=True)
class Slicing:
    """How to slice the counts: time buckets, and optionally a car attribute."""

    buckets: Sequence[Bucket]
    attribute: Attribute | None = None


def _sliced(
    slicing: Slicing,
    moment: ColumnElement[Any],
    columns: Columns,
    *,
    join_units: bool,
    base: Any,
) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """A SELECT of (group, attribute, *columns) from `base` restricted to the buckets;
    `columns` is given the end (`until`) of each row's bucket.

    Returns the statement and the columns to GROUP BY.
    """
    source = base
    if join_units:
        source = source.join(units, units.c.vin == base.c.vin)
    attribute: ColumnElement[Any] = units.c[slicing.attribute] if slicing.attribute else literal("")
    if len(slicing.buckets) == 1:
        bucket = slicing.buckets[0]
        group: ColumnElement[Any] = literal(bucket.group)
        until: ColumnElement[Any] = literal(bucket.until, UtcDateTime())
        statement = (
            select(group, attribute, *columns(until))
            .select_from(source)
            .where(moment >= bucket.since, moment < bucket.until)
        )
        keys = [attribute] if slicing.attribute else []
    else:
        table = bucket_table(slicing.buckets)
        group = table.c.bucket_group
        statement = select(group, attribute, *columns(table.c.bucket_until)).select_from(
            table.join(source, in_bucket(table, moment))
        )
        keys = [group, attribute] if slicing.attribute else [group]
    return statement, keys


def not_first_time(
    vin: ColumnElement[Any], until: ColumnElement[Any], scope: StationScope | None = None
) -> ColumnElement[bool]:
    """Whether the car `vin` is not first time through before `until`: it has a failed
    check or a defect opened (at the stations `scope` admits; all, without one).

    The one definition behind first-pass yield, the quality ratio's good quantity and the
    board (docs/kpi.md#first-time-through).
    """
    failed, opened = inspections.alias("failed_check"), defects.alias("opened_defect")
    # Found by the car's index only: a car has a few dozen checks and defects at most.
    failed_where = [
        failed.c.vin == vin,
        by_vin_only(failed.c.result) == "fail",
        by_vin_only(failed.c.recorded_at) < until,
    ]
    opened_where = [opened.c.vin == vin, by_vin_only(opened.c.opened_at) < until]
    if scope is not None:
        failed_where.append(scope(by_vin_only(failed.c.station)))
        opened_where.append(scope(by_vin_only(opened.c.station)))
    return or_(exists().where(*failed_where), exists().where(*opened_where))


def _reworked(cars: Any, until: ColumnElement[Any]) -> Any:
    """(vin, station) of every failed check and every defect opened before `until` on the
    cars of `cars` (a one-column `vin` table): where each was not first time through.

    The same definition as `not_first_time`, as a table to join when many cars' rows are
    checked at once (a station's processed cars); tests/kpi/test_first_time_through.py
    holds both to the same answers."""
    failed, opened = inspections.alias("failed_check"), defects.alias("opened_defect")
    return union(
        select(failed.c.vin, failed.c.station)
        .join_from(cars, failed, failed.c.vin == cars.c.vin)
        .where(by_vin_only(failed.c.result) == "fail", by_vin_only(failed.c.recorded_at) < until),
        select(opened.c.vin, opened.c.station)
        .join_from(cars, opened, opened.c.vin == cars.c.vin)
        .where(by_vin_only(opened.c.opened_at) < until),
    ).cte("reworked")


def _findings(stations: Sequence[str], buckets: Sequence[Bucket]) -> Any:
    """Every check recorded and every defect opened at `stations` inside the buckets' span:
    (vin, station, found_at). A car with either was inspected there."""
    since = min(bucket.since for bucket in buckets)
    until = max(bucket.until for bucket in buckets)
    checked, opened = inspections.c, defects.c
    return union_all(
        select(checked.vin, checked.station, checked.recorded_at.label("found_at")).where(
            checked.station.in_(stations), checked.recorded_at >= since, checked.recorded_at < until
        ),
        select(opened.vin, opened.station, opened.opened_at.label("found_at")).where(
            opened.station.in_(stations), opened.opened_at >= since, opened.opened_at < until
        ),
    ).subquery("findings")


def _counts(connection: Connection, statement: Select[Any]) -> dict[Key, int]:
    return {(int(row[0]), str(row[1])): int(row[2]) for row in connection.execute(statement)}


@dataclass
class UnitCounts:
    """Cars started, completed, completed first time through (good), and scrapped."""

    produced: int = 0
    completed: int = 0
    good: int = 0
    scrapped: int = 0


def unit_counts(connection: Connection, slicing: Slicing) -> dict[tuple[int, str, str], UnitCounts]:
    """Car counts per (group, attribute, line). `good`: completed cars first time through
    (no failed check and no defect opened, at any station, before the group's end)."""
    result: dict[tuple[int, str, str], UnitCounts] = defaultdict(UnitCounts)

    def counted(until: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [units.c.line, func.count()]

    def good(until: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [units.c.line, func.count(case((~not_first_time(units.c.vin, until), 1)))]

    queries: list[tuple[str, ColumnElement[Any], Columns, list[ColumnElement[bool]]]] = [
        ("produced", units.c.started_at, counted, []),
        ("completed", units.c.completed_at, counted, []),
        ("good", units.c.completed_at, good, []),
        ("scrapped", units.c.scrapped_at, counted, [units.c.status == "scrapped"]),
    ]
    for name, moment, columns, conditions in queries:
        statement, keys = _sliced(slicing, moment, columns, join_units=False, base=units)
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
    """Cars inspected (a check recorded or a defect opened), those of them not first time
    through, and defects opened."""

    inspected: int = 0
    failed: int = 0
    """Inspected cars with a failed check or a defect opened (before the group's end)."""
    defects: int = 0

    @property
    def first_pass(self) -> int:
        """Inspected cars first time through: no failed check, no defect opened."""
        return self.inspected - self.failed


def quality_counts(
    connection: Connection, slicing: Slicing, stations: Sequence[str]
) -> dict[Key, QualityCounts]:
    """Inspected cars, those not first time through, and defects per (group, attribute),
    at `stations`."""
    result: dict[Key, QualityCounts] = defaultdict(QualityCounts)
    join = slicing.attribute is not None
    if not slicing.buckets:
        return result
    found = _findings(stations, slicing.buckets)

    def columns(until: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [found.c.vin, func.max(until)]

    # One row per inspected car and group first, so each car's history is read once.
    statement, keys = _sliced(slicing, found.c.found_at, columns, join_units=join, base=found)
    cars = statement.group_by(*keys, found.c.vin).subquery("inspected_cars")
    group, value, vin, until = list(cars.c)
    reworked = not_first_time(vin, until, lambda station: station.in_(stations))
    statement = select(group, value, func.count(), func.count(case((reworked, 1)))).group_by(
        group, value
    )
    for group_number, attribute, inspected, failed in connection.execute(statement):
        counts = result[(int(group_number), str(attribute))]
        counts.inspected, counts.failed = int(inspected), int(failed)
    statement, keys = _sliced(
        slicing, defects.c.opened_at, lambda until: [func.count()], join_units=join, base=defects
    )
    for key, count in _counts(connection, statement.group_by(*keys)).items():
        result[key].defects = count
    return result


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
    """One station in the window: processed, bad (processed, not first time through there),
    scrapped there, inspected and not-first-time cars, defects opened there."""

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

    `bad` counts the cars processed at the station in the bucket that are not first time
    through there: a failed check or a defect opened at the station before the bucket's
    end. A car scrapped at the station was never processed there, so it is not in `bad`;
    a `nok` visit result alone does not make a car bad (docs/events.md: it holds nothing).
    `inspected` and `failed` count the cars with a check recorded or a defect opened at the
    station in the bucket, and those of them not first time through there.
    """
    result: dict[str, StationCounts] = {station: StationCounts() for station in stations}
    visits = station_visits.c
    until: ColumnElement[Any] = literal(bucket.until, UtcDateTime())
    in_visits = and_(
        visits.station.in_(stations),
        visits.completed_at >= bucket.since,
        visits.completed_at < bucket.until,
    )
    for station, count in connection.execute(
        select(visits.station, func.count()).where(in_visits).group_by(visits.station)
    ):
        result[station].processed = int(count)
    # Failed checks and defects are few: find them by car, then the visits they spoil.
    reworked = _reworked(select(visits.vin).where(in_visits).distinct().cte("processed"), until)
    visited = station_visits.alias("visited")
    for station, bad in connection.execute(
        select(visited.c.station, func.count(distinct(visited.c.vin)))
        .select_from(
            reworked.join(
                visited,
                and_(visited.c.vin == reworked.c.vin, visited.c.station == reworked.c.station),
            )
        )
        .where(visited.c.completed_at >= bucket.since, visited.c.completed_at < bucket.until)
        .group_by(visited.c.station)
    ):
        if station in result:
            result[station].bad = min(int(bad), result[station].processed)
    found = _findings(stations, [bucket])
    for station, inspected in connection.execute(
        select(found.c.station, func.count(distinct(found.c.vin))).group_by(found.c.station)
    ):
        result[station].inspected = int(inspected)
    cars = select(found.c.station, found.c.vin).distinct().cte("inspected")
    reworked = _reworked(select(cars.c.vin).distinct().cte("inspected_cars"), until)
    for station, failed in connection.execute(
        select(cars.c.station, func.count())
        .select_from(
            cars.join(
                reworked,
                and_(reworked.c.vin == cars.c.vin, reworked.c.station == cars.c.station),
            )
        )
        .group_by(cars.c.station)
    ):
        result[station].failed = int(failed)
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
