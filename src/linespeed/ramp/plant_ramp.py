"""The plant's own ramp: cars completed per day (plant local time), from the store.

Day 0 is the plant's `sop` when the plant file sets it; counts add the plant's
`cars_before`; imported history (`ramp import-history`) comes before the store's own points.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Date, Engine, String, func, select

from linespeed.errors import LinespeedError
from linespeed.ramp.history import HistoryPeriod, read_history
from linespeed.ramp.series import RampPoint, RampSeries, check_points
from linespeed.store.plants import current_plant
from linespeed.store.reads import select_rows
from linespeed.store.schema import units
from linespeed.store.writes import stamp_for


def plant_ramp(engine: Engine) -> RampSeries | None:
    """Cumulative completed cars by day since start of production; None before any car or history.

    Days are the plant's local days. Start of production is the plant's `sop`, else the
    earlier of the first history period's start and the day the first car started. Counts
    after the history add the plant's `cars_before`; a `sop` before the first point adds a
    point of 0 cars on it. Raises StoreError if no plant is loaded, LinespeedError
    (ramp.history_mismatch) if the history holds more cars than `cars_before`.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        per_day = counts_per_local_day(connection, units.c.completed_at, plant.timezone)
        first_start = connection.execute(select(func.min(units.c.started_at))).scalar()
        history = read_history(connection)
    if not history and (not per_day or first_start is None):
        return None
    points = _history_points(history, plant.cars_before, plant.plant)
    total = float(plant.cars_before)
    for day in sorted(per_day):
        total += per_day[day]
        points.append(RampPoint(day, total, "store"))
    starts = [one.start for one in history[:1]]
    if first_start is not None:
        starts.append(_aware(first_start).astimezone(ZoneInfo(plant.timezone)).date())
    sop = plant.sop if plant.sop is not None else min(starts)
    if points and sop < points[0].day:
        points.insert(0, RampPoint(sop, 0.0, "plant file (sop)", kind="start-of-production"))
    check_points([(point.day, point.cumulative) for point in points], "store")
    return RampSeries(plant.plant, plant.name, "produced", sop, tuple(points), "store")


def _history_points(
    history: list[HistoryPeriod], cars_before: int, plant_id: str
) -> list[RampPoint]:
    """The history as cumulative points at each period's end."""
    total = 0.0
    points: list[RampPoint] = []
    for period in history:
        total += period.quantity
        points.append(RampPoint(period.end, total, "history", kind="history"))
    if total > cars_before:
        raise LinespeedError(
            f"the imported history holds {total:,.0f} cars, more than cars_before "
            f"({cars_before:,}) of plant {plant_id!r}: set cars_before to the cars completed "
            "before the store began (at least the history's total) and load the plant again",
            code="ramp.history_mismatch",
        )
    return points


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def counts_per_local_day(
    connection: Connection, column: ColumnElement[Any], timezone: str
) -> Counter[date]:
    """How many rows have `column` (a UtcDateTime of `units`) on each plant-local day of
    `timezone`.

    PostgreSQL counts by the local date itself (`AT TIME ZONE`: exact in any zone). On
    SQLite, a column that leads an index is counted day by day, each day a range of the
    index between its local midnights (exact in any zone, and no sort of the whole
    history); another per UTC hour (text 'YYYY-MM-DDTHH'), so zones off by a whole number of
    hours split days exactly.
    """
    zone = ZoneInfo(timezone)
    if connection.dialect.name != "sqlite":
        local_day = func.date(func.timezone(timezone, column), type_=Date)
        by_day = select(local_day, func.count()).where(column.is_not(None)).group_by(local_day)
        return Counter({day: int(count) for day, count in connection.execute(by_day)})
    if _leads_an_index(column):
        return _counts_by_index(connection, column, zone)
    hour = func.substr(column, 1, 13, type_=String)
    statement = select(hour, func.count()).where(column.is_not(None)).group_by(hour)
    per_day: Counter[date] = Counter()
    for bucket, count in connection.execute(statement):
        per_day[_local_day(bucket, zone)] += int(count)
    return per_day


def _leads_an_index(column: ColumnElement[Any]) -> bool:
    name = getattr(column, "name", None)
    return any(
        index.expressions and getattr(index.expressions[0], "name", None) == name
        for index in units.indexes
    )


def _counts_by_index(
    connection: Connection, column: ColumnElement[Any], zone: ZoneInfo
) -> Counter[date]:
    first, last = connection.execute(select(func.min(column), func.max(column))).one()
    per_day: Counter[date] = Counter()
    if first is None or last is None:
        return per_day
    day, final = _aware(first).astimezone(zone).date(), _aware(last).astimezone(zone).date()
    stamp = stamp_for(connection.dialect)
    days: list[Any] = []
    while day <= final:
        following = day + timedelta(days=1)
        days += (day.toordinal(), stamp(_midnight(day, zone)), stamp(_midnight(following, zone)))
        day = following
    name = column.name
    rows = select_rows(
        connection,
        "WITH days(ordinal, since, until) AS (VALUES "
        + ", ".join(["({}, {}, {})"] * (len(days) // 3))
        + f") SELECT ordinal, (SELECT count(*) FROM units WHERE {name} >= since"
        f" AND {name} < until) FROM days",
        *days,
    )
    for ordinal, count in rows:
        if count:
            per_day[date.fromordinal(int(ordinal))] = int(count)
    return per_day


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _local_day(hour: object, zone: ZoneInfo) -> date:
    """The local day of a UTC hour read as SQLite text ('YYYY-MM-DDTHH')."""
    return datetime.fromisoformat(str(hour)).replace(tzinfo=UTC).astimezone(zone).date()
