"""Monthly deliveries from the store, actual then forecast by a simple extrapolation.

Actual: cars shipped (`unit.shipped`) per month of the plant's local time; a store in
which no car has shipped counts cars completed instead. Forecast (only up to an `until`
month after the last actual day): the daily rate of the last RATE_DAYS days up to and
including the last day with a delivery (fewer days when the store holds fewer) is held
flat: the rest of the last month and every later month deliver rate x days, rounded. A
ramping plant delivers more than a flat rate, so the forecast errs low; for a ramp-shaped
forecast give a deliveries file (for instance from `linespeed ramp --forecast`).
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, String, func, select

from linespeed.aftersales.files import Delivery, Month
from linespeed.store.plants import current_plant
from linespeed.store.schema import units

RATE_DAYS: Final = 28
"""Days whose deliveries give the forecast's daily rate."""


@dataclass(frozen=True)
class StoreDeliveries:
    """Deliveries per month from the store: what was counted and where the forecast begins."""

    deliveries: list[Delivery]
    counted: str
    """"shipped" or "completed" (no car shipped yet)."""
    last_day: date
    """The last local day with a delivery."""
    daily_rate: float
    """Deliveries per day over the last RATE_DAYS days (the forecast's rate)."""
    forecast_from: Month | None
    """The first month holding forecast deliveries; None without a forecast."""


def store_deliveries(engine: Engine, until: Month | None = None) -> StoreDeliveries | None:
    """Monthly deliveries (plant-local months) from the store, forecast to `until`.

    None if no car has shipped or completed. Raises StoreError if no plant is loaded.
    """
    with engine.connect() as connection:
        plant = current_plant(connection)
        counted = "shipped"
        rows = _hourly(connection, units.c.shipped_at)
        if not rows:
            counted = "completed"
            rows = _hourly(connection, units.c.completed_at)
    if not rows:
        return None
    zone = ZoneInfo(plant.timezone)
    per_day: Counter[date] = Counter()
    for bucket, count in rows:
        per_day[_local_day(bucket, zone)] += int(count)
    first_day, last_day = min(per_day), max(per_day)
    window_start = max(first_day, last_day - timedelta(days=RATE_DAYS - 1))
    window = (last_day - window_start).days + 1
    rate = sum(n for day, n in per_day.items() if day >= window_start) / window
    per_month: Counter[Month] = Counter()
    for day, count in per_day.items():
        per_month[Month(day.year, day.month)] += count
    last_month = Month(last_day.year, last_day.month)
    forecast_from: Month | None = None
    if until is not None and until >= last_month:
        days_in_month = calendar.monthrange(last_day.year, last_day.month)[1]
        remaining = days_in_month - last_day.day
        if remaining > 0:
            per_month[last_month] += round(rate * remaining)
            forecast_from = last_month
        for index in range(last_month.index + 1, until.index + 1):
            month = Month.from_index(index)
            per_month[month] += round(rate * calendar.monthrange(month.year, month.month)[1])
            forecast_from = forecast_from or month
    deliveries = [Delivery(month, per_month[month]) for month in sorted(per_month)]
    return StoreDeliveries(deliveries, counted, last_day, rate, forecast_from)


def _hourly(connection: Connection, column: ColumnElement[Any]) -> list[tuple[object, int]]:
    """Counts per UTC hour of `column` (text 'YYYY-MM-DDTHH' on SQLite, a timestamp else)."""
    hour: ColumnElement[Any]
    if connection.dialect.name == "sqlite":
        hour = func.substr(column, 1, 13, type_=String)
    else:
        hour = func.date_trunc("hour", column)
    statement = select(hour, func.count()).where(column.is_not(None)).group_by(hour)
    return [(bucket, int(count)) for bucket, count in connection.execute(statement).all()]


def _local_day(bucket: object, zone: ZoneInfo) -> date:
    moment = (
        bucket
        if isinstance(bucket, datetime)
        else datetime.strptime(str(bucket), "%Y-%m-%dT%H").replace(tzinfo=UTC)
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()
