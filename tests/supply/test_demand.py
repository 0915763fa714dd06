"""Demand ahead: the stored plan's cars times the BOM, then the recent rate; days of cover
count on hand down through it, day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from linespeed.plant.model import Plant
from linespeed.supply.demand import PartDemand
from linespeed.supply.plan import import_plan
from linespeed.supply.stock import stock_report
from tests.conftest import ingest
from tests.ingest.line import full_line, start, vin
from tests.supply.test_rules import received

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2025, 6, 30, 13, 0, tzinfo=SHANGHAI)
"""13:00: 11 hours of the day are still to come."""


def demand(per_day: tuple[float, ...], after: float = 0.0) -> PartDemand:
    return PartDemand(AS_OF, 11 / 24, per_day, after)


def test_cover_counts_down_planned_days_with_days_off_between() -> None:
    # 0.5 left today, 1 tomorrow, a weekend with nothing planned, then 1 a day
    ahead = demand((0.5, 1.0, 0.0, 0.0, 1.0, 1.0))
    days, out = ahead.cover(3)
    assert days == pytest.approx(11 / 24 + 4 + 0.5, abs=0.01)
    assert out == date(2025, 7, 5)


def test_cover_goes_on_at_the_recent_rate_after_the_plan() -> None:
    ahead = demand((11 / 24 * 2, 2.0), after=4.0)
    # 2 a day through tomorrow (2.92 pieces over 1.46 days), then 4 a day for the other 5.08
    days, out = ahead.cover(8)
    expected = 11 / 24 + 1 + (8 - 11 / 12 - 2) / 4
    assert days == pytest.approx(expected, abs=0.01)
    assert out == (AS_OF + timedelta(days=expected)).date() == date(2025, 7, 3)


def test_nothing_on_hand_is_no_cover_and_out_today() -> None:
    assert demand((1.0,), after=1.0).cover(0) == (0.0, date(2025, 6, 30))
    assert demand((1.0,), after=1.0).cover(-5) == (0.0, date(2025, 6, 30))


def test_stock_that_outlasts_the_plan_with_no_rate_after_never_runs_out() -> None:
    assert demand((1.0, 1.0)).cover(10) == (None, None)


def _one_car_a_day(plant: Plant) -> list[dict[str, Any]]:
    now = AS_OF.astimezone(UTC)
    stream: list[dict[str, Any]] = []
    for number, days_ago in enumerate([10, 6, 5, 4, 3, 2, 1, 0], start=1):
        car = vin(plant, "s7", number)
        events = [start(plant, "s7", number), *full_line(plant, car)]
        for offset, each in enumerate(events):
            at = now - timedelta(days=days_ago, seconds=len(events)) + timedelta(seconds=offset)
            each["ts"] = at.isoformat()
        stream += events
    return stream


PLAN = b"""date,line,shift,model,quantity
2025-06-30,l1,,,5
2025-07-01,l1,,,10
2025-07-02,l1,,,0
2025-07-03,l1,,s7,10
2025-07-04,l1,,,5
2025-07-05,l1,,,0
"""


def test_days_of_cover_follow_the_stored_plan(stock_engine: Engine, stock_plant: Plant) -> None:
    receipt = received("BRK-2201", 40, lot="L1") | {"ts": AS_OF.isoformat()}
    ingest(stock_engine, [*_one_car_a_day(stock_plant), receipt])
    before = stock_report(stock_engine, part="BRK-2201").parts[0]
    # 2 calipers a car, one car a day lately: 40 last 20 days
    assert (before.on_hand, before.days_of_cover) == (40, 20.0)

    import_plan(stock_engine, PLAN, "test")
    after = stock_report(stock_engine, part="BRK-2201").parts[0]
    # 5 cars today (11/24 of them still to come), 10, none, then 10: 2 calipers each, the 40
    # go 4.58, 20, 0, and the last 15.42 of them 0.77 into 3 July's 20
    assert after.days_of_cover == pytest.approx(11 / 24 + 2 + (40 - 4.583 - 20) / 20, abs=0.01)
    assert after.runs_out_on == date(2025, 7, 3)


def test_plan_rows_without_a_model_follow_the_recent_mix(
    stock_engine: Engine, stock_plant: Plant
) -> None:
    receipt = received("BRK-2201", 40, lot="L1") | {"ts": AS_OF.isoformat()}
    ingest(stock_engine, [*_one_car_a_day(stock_plant), receipt])
    # every recent car is an s7: the x9s planned by name need no s7 caliper
    import_plan(stock_engine, b"date,line,shift,model,quantity\n2025-07-01,l1,,x9,50\n", "x9")
    after = stock_report(stock_engine, part="BRK-2201").parts[0]
    # the plan covers 1 July only: the rest of today at the recent rate (2 a day, 0.92 for
    # its last 11 hours), none on 1 July, then 2 a day again
    assert after.days_of_cover == pytest.approx(11 / 24 + 1 + (40 - 22 / 24) / 2, abs=0.01)
