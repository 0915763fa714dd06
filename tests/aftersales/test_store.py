"""Deliveries from the store (shipped, else completed, per plant-local month) and the CLI's
`--from-store`, on SQLite and PostgreSQL."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from linespeed.aftersales.files import Delivery, Month
from linespeed.aftersales.store_deliveries import RATE_DAYS, store_deliveries
from linespeed.events.codec import encode_event
from linespeed.events.types import Event, UnitCompleted, UnitShipped
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import Result, ingest, make_store

ZONE = ZoneInfo("Asia/Shanghai")


def _fill(engine: Engine, plant: Plant, *, ship: bool) -> list[Event]:
    """Ten cars from 10 June and twelve from 20 July 2025 (plant time)."""
    stream = [
        *example_events(
            plant, ExampleSettings(cars=10, start=datetime(2025, 6, 10, 8, tzinfo=ZONE), ship=ship)
        ),
        *example_events(
            plant,
            ExampleSettings(
                cars=12,
                start=datetime(2025, 7, 20, 8, tzinfo=ZONE),
                ship=ship,
                first_number=11,
                id_prefix="b",
                seed=2,
            ),
        ),
    ]
    outcomes = ingest(engine, [encode_event(event) for event in stream])
    assert {outcome.status for outcome in outcomes} == {"accepted"}
    return stream


def _days(stream: list[Event], kind: type[Event]) -> Counter[date]:
    return Counter(event.ts.astimezone(ZONE).date() for event in stream if isinstance(event, kind))


def test_nothing_delivered(memory_engine: Engine) -> None:
    assert store_deliveries(memory_engine) is None


def test_shipped_per_local_month_then_a_flat_forecast(memory_engine: Engine, plant: Plant) -> None:
    days = _days(_fill(memory_engine, plant, ship=True), UnitShipped)
    assert sum(days.values()) == 22
    found = store_deliveries(memory_engine)
    assert found is not None
    assert found.counted == "shipped"
    months: Counter[Month] = Counter()
    for day, count in days.items():
        months[Month(day.year, day.month)] += count
    assert found.deliveries == [Delivery(m, months[m]) for m in sorted(months)]
    assert [str(d.month) for d in found.deliveries] == ["2025-06", "2025-07"]
    assert found.forecast_from is None
    # the forecast: the rate of the last 28 days (the July cars only) held flat
    last = max(days)
    start = last - timedelta(days=RATE_DAYS - 1)
    rate = sum(n for day, n in days.items() if day >= start) / RATE_DAYS
    assert found.last_day == last and found.daily_rate == rate
    forecast = store_deliveries(memory_engine, Month(2025, 8))
    assert forecast is not None
    assert forecast.forecast_from == Month(2025, 7)
    assert forecast.deliveries == [
        Delivery(Month(2025, 6), months[Month(2025, 6)]),
        Delivery(Month(2025, 7), months[Month(2025, 7)] + round(rate * (31 - last.day))),
        Delivery(Month(2025, 8), round(rate * calendar.monthrange(2025, 8)[1])),
    ]


def test_completions_when_nothing_shipped(memory_engine: Engine, plant: Plant) -> None:
    days = _days(_fill(memory_engine, plant, ship=False), UnitCompleted)
    found = store_deliveries(memory_engine)
    assert found is not None
    assert found.counted == "completed"
    assert sum(d.deliveries for d in found.deliveries) == sum(days.values()) == 22


def test_cli_from_store(db_url: str, plant: Plant, run: Callable[..., Result]) -> None:
    engine = make_store(db_url, plant)
    try:
        _fill(engine, plant, ship=True)
    finally:
        engine.dispose()
    result = run(
        "aftersales", "plan", "--from-store", "--until", "2025-09", "--json", "--db", db_url
    )
    assert result.exit_code == 0, result.stderr
    rows = result.json()["rows"]
    assert [row["month"] for row in rows] == ["2025-06", "2025-07", "2025-08", "2025-09"]
    assert rows[0]["vehicles"] == 10 and rows[0]["region"] == "all"
    assert rows[0]["bays_planned"] is None
    text = run("aftersales", "plan", "--from-store", "--until", "2025-09", "--db", db_url)
    assert text.exit_code == 0
    assert "deliveries forecast from 2025-07" in text.stdout
