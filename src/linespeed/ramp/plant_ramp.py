"""The plant's own ramp: cars completed per day (plant local time), from the store."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, String, func, select

from linespeed.ramp.series import RampSeries, series_from_counts
from linespeed.store.plants import current_plant
from linespeed.store.schema import units


def plant_ramp(engine: Engine) -> RampSeries | None:
    """Cumulative completed cars by day since start of production; None before the first car.

    Days are the plant's local days; start of production is the day the first car started.
    Raises StoreError if no plant is loaded.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        hour = _hour(engine)
        rows = connection.execute(
            select(hour, func.count()).where(units.c.completed_at.is_not(None)).group_by(hour)
        ).all()
        first_start = connection.execute(select(func.min(units.c.started_at))).scalar()
    if not rows or first_start is None:
        return None
    zone = ZoneInfo(plant.timezone)
    per_day: Counter[date] = Counter()
    for bucket, count in rows:
        per_day[_local_day(bucket, zone)] += int(count)
    days = sorted(per_day)
    return series_from_counts(
        days,
        [per_day[day] for day in days],
        name=plant.plant,
        label=plant.name,
        metric="produced",
        sop=first_start.astimezone(zone).date(),
        source="store",
    )


def _hour(engine: Engine) -> ColumnElement[str]:
    """The UTC hour of completion: text 'YYYY-MM-DDTHH' on SQLite, a timestamp elsewhere."""
    if engine.dialect.name == "sqlite":
        return func.substr(units.c.completed_at, 1, 13, type_=String)
    return func.date_trunc("hour", units.c.completed_at)


def _local_day(bucket: object, zone: ZoneInfo) -> date:
    moment = (
        bucket
        if isinstance(bucket, datetime)
        else datetime.strptime(str(bucket), "%Y-%m-%dT%H").replace(tzinfo=UTC)
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()
