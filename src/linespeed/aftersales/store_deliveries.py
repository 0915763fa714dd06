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
from datetime import date, timedelta
from typing import Final

from sqlalchemy import Engine

from linespeed.aftersales.files import Delivery, Month
from linespeed.ramp.plant_ramp import counts_per_local_day
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
        per_day = counts_per_local_day(connection, units.c.shipped_at, plant.timezone)
        if not per_day:
            counted = "completed"
            per_day = counts_per_local_day(connection, units.c.completed_at, plant.timezone)
    if not per_day:
        return None
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
