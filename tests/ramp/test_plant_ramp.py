"""The plant's ramp curve from the store: cumulative completions per local day."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from linespeed.events.codec import encode_event
from linespeed.events.types import UnitCompleted
from linespeed.plant.model import Plant
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.sim.example import ExampleSettings, example_events
from tests.backends import BACKENDS, store_url
from tests.conftest import ingest, make_store


def test_no_cars_no_curve(engine: Engine) -> None:
    assert plant_ramp(engine) is None


def test_cumulative_completions_by_local_day(engine: Engine, plant: Plant) -> None:
    # 30 cars at takt from 23:00 local: the first ones complete before midnight, the rest after
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2025, 6, 30, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    stream = list(example_events(plant, ExampleSettings(cars=30, start=start, ship=False)))
    assert {o.status for o in ingest(engine, [encode_event(e) for e in stream])} == {"accepted"}
    completed = sorted(
        e.ts.astimezone(ZoneInfo("Asia/Shanghai")).date()
        for e in stream
        if type(e).__name__ == "UnitCompleted"
    )
    series = plant_ramp(engine)
    assert series is not None
    assert series.sop == date(2025, 6, 30)
    assert series.metric == "produced"
    expected: dict[date, int] = {}
    for day in completed:
        expected[day] = expected.get(day, 0) + 1
    running, pairs = 0, []
    for day in sorted(expected):
        running += expected[day]
        pairs.append((day, float(running)))
    assert series.pairs() == pairs
    assert pairs[-1][1] == 30 and len(pairs) == 2


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns", "Asia/Shanghai"])
def test_days_split_at_local_midnight_in_zones_off_by_half_hours(
    backend_name: str, zone: str, plant: Plant, tmp_path: Path
) -> None:
    # Cars across local midnight in zones whose offset is not a whole number of hours: each
    # car counts on the day its plant-local completion time falls on.
    local = plant.model_copy(update={"timezone": zone})
    start = datetime(2025, 6, 30, 23, 0, tzinfo=ZoneInfo(zone))
    stream = list(example_events(local, ExampleSettings(cars=30, start=start, ship=False)))
    with store_url(backend_name, f"sqlite:///{tmp_path / 'zone.db'}") as url:
        store = make_store(url, local)
        try:
            outcomes = ingest(store, [encode_event(e) for e in stream])
            assert {o.status for o in outcomes} == {"accepted"}
            series = plant_ramp(store)
        finally:
            store.dispose()
    expected = Counter(
        e.ts.astimezone(ZoneInfo(zone)).date() for e in stream if isinstance(e, UnitCompleted)
    )
    assert series is not None
    assert series.pairs() == list(
        zip(
            sorted(expected),
            accumulate(float(expected[day]) for day in sorted(expected)),
            strict=True,
        )
    )
