"""Bad input and empty data: zeros and a note, never NaN; clear errors for bad windows."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine

from linespeed.errors import LinespeedError, StoreError
from linespeed.kpi import KpiReport, kpi_report
from linespeed.plant.model import Plant
from linespeed.store.engine import connect, migrate
from tests.conftest import ingest, make_store
from tests.kpi.example import PLANT, at, example_events


def floats(value: Any) -> list[float]:
    """Every float in a nested structure of builtins."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in floats(item)]
    if isinstance(value, list):
        return [f for item in value for f in floats(item)]
    return []


def assert_finite(report: KpiReport) -> None:
    numbers = floats(msgspec.to_builtins(report))
    assert numbers and all(math.isfinite(number) for number in numbers)


def assert_no_flow(report: KpiReport) -> None:
    assert (report.produced, report.completed, report.scrapped) == (0, 0, 0)
    assert (report.jph, report.first_pass_yield, report.defects_per_unit) == (0.0, 0.0, 0.0)
    assert report.bottleneck is None
    assert all(row.oee == 0.0 and row.processed == 0 for row in report.stations)
    assert report.lines[0].oee == 0.0


@pytest.mark.parametrize("by", [None, "day", "shift", "station", "model", "color"])
@pytest.mark.slow
def test_empty_store_gives_zeros_and_a_note(kpi_empty: Engine, by: Any) -> None:
    report = kpi_report(kpi_empty, by=by)
    assert_no_flow(report)
    assert report.wip == 0
    assert report.since == report.until
    assert report.notes[0] == "the store holds no events yet: every count and rate is zero"
    assert_finite(report)


def test_empty_store_with_a_window(kpi_empty: Engine) -> None:
    report = kpi_report(kpi_empty, since=at(0), until=at(3600), by="day")
    assert_no_flow(report)
    assert [(row.key, row.completed, row.jph) for row in report.groups] == [("2025-06-30", 0, 0.0)]
    assert "no events" in report.notes[0]
    assert_finite(report)


def test_window_without_production(kpi_store: Engine) -> None:
    # 1 July 08:00-09:00 local: nothing happens; cars 5 and 6 are still in production.
    report = kpi_report(kpi_store, since=at(86400), until=at(86400 + 3600), by="station")
    assert_no_flow(report)
    assert report.wip == 2
    assert report.production_hours == 1.0
    assert report.notes[0].startswith("no car was started, processed or completed")
    assert_finite(report)


def test_empty_window(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store, since=at(0), until=at(0), by="shift")
    assert_no_flow(report)
    assert report.production_hours == 0.0
    assert report.groups == []
    assert report.notes[0] == "the window is empty (since = until): every count and rate is zero"
    assert_finite(report)


def test_since_after_until_names_both(kpi_store: Engine) -> None:
    with pytest.raises(LinespeedError) as caught:
        kpi_report(kpi_store, since=at(3600), until=at(0))
    assert caught.value.code == "kpi.input"
    assert str(caught.value) == (
        "since 2025-06-30T01:00:00+00:00 is after until 2025-06-30T00:00:00+00:00"
    )


def test_times_need_an_offset(kpi_store: Engine) -> None:
    with pytest.raises(LinespeedError, match="until 2025-06-30T09:00:00 has no UTC offset") as e:
        kpi_report(kpi_store, until=datetime(2025, 6, 30, 9))
    assert e.value.code == "kpi.input"


EXTREMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "1969-12-31T23:59:59+00:00",
    "2200-01-01T00:00:01+00:00",
]


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("text", EXTREMES)
def test_times_before_1970_or_after_2200_are_refused(
    kpi_store: Engine, name: str, text: str
) -> None:
    value = datetime.fromisoformat(text)
    with pytest.raises(LinespeedError) as caught:
        if name == "since":
            kpi_report(kpi_store, since=value)
        else:
            kpi_report(kpi_store, until=value)
    assert caught.value.code == "kpi.input"
    assert str(caught.value) == f"{name} {text} is outside 1970-01-01 to 2200-01-01 UTC"


def test_the_window_may_touch_both_bounds(kpi_store: Engine) -> None:
    earliest, latest = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    report = kpi_report(kpi_store, since=earliest, until=latest)
    assert (report.since, report.until) == (earliest, latest)
    assert report.completed == 4


def test_an_event_stored_far_in_the_future_breaks_no_default_report(
    kpi_empty: Engine, kpi_plant: Plant
) -> None:
    # Ingest now refuses such times (ts.out_of_range); a store written before may hold one.
    late = {"id": "late-1", "kind": "station.state", "ts": "9999-12-31T23:59:59+00:00",
            "station": "st-10", "state": "down"}  # fmt: skip
    ingest(kpi_empty, [*example_events(kpi_plant), late])
    report = kpi_report(kpi_empty)
    assert report.since == at(-60)
    assert report.until <= datetime(2200, 1, 1, tzinfo=UTC)
    assert_finite(report)


def test_unknown_grouping(kpi_store: Engine) -> None:
    with pytest.raises(LinespeedError, match="by 'week' is not one of day, shift") as caught:
        kpi_report(kpi_store, by="week")  # type: ignore[arg-type]
    assert caught.value.code == "kpi.input"


def test_store_without_plant(db_url: str) -> None:
    engine = connect(db_url)
    migrate(engine)
    with pytest.raises(StoreError, match="holds no plant"):
        kpi_report(engine)
    engine.dispose()


def test_default_window_is_the_whole_history(kpi_store: Engine) -> None:
    report = kpi_report(kpi_store)
    # From the first event (car 0 started at 07:59:00) to the second after the last one
    # (st-30 running again at 09:00:00).
    assert (report.since, report.until) == (at(-60), at(3601))
    assert (report.produced, report.completed) == (7, 4)


def test_default_until_follows_since(kpi_store: Engine) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    report = kpi_report(kpi_store, since=later)
    assert (report.since, report.until) == (later, later)


def _report_without_states(db_url: str, plant: Plant) -> KpiReport:
    store = make_store(db_url, plant)
    items = [item for item in example_events(plant) if item["kind"] != "station.state"]
    ingest(store, items)
    report = kpi_report(store, since=at(0), until=at(3600))
    store.dispose()
    return report


def test_planned_stops_from_the_shift_plan_without_states(db_url: str) -> None:
    # Shift B gets a break 08:45-08:50: without station states, that is a planned stop of
    # 300 s at every station. PBT of st-30 = 3300 s.
    shifts = [
        {"name": "A", "start": "06:00", "end": "08:30"},
        {
            "name": "B",
            "start": "08:30",
            "end": "17:00",
            "breaks": [{"start": "08:45", "end": "08:50"}],
        },
    ]
    plant = Plant.model_validate({**PLANT, "shifts": shifts})
    report = _report_without_states(db_url, plant)
    assert report.production_hours_source == {
        "station_states": 0.0,
        "calendar": 0.0,
        "shift_plan": 3600.0,
        "window": 0.0,
    }
    assert report.production_hours == pytest.approx(3300 / 3600, abs=1e-6)
    assert [(row.state, row.seconds, row.stops) for row in report.downtime_total] == [
        ("planned-stop", 900.0, 3)
    ]
    assert [row.planned_busy_s for row in report.stations] == [3300.0, 3300.0, 3300.0]
    assert "planned stops come from the plant's shifts" in " ".join(report.notes)


def test_whole_window_is_planned_busy_without_states_or_shifts(db_url: str) -> None:
    plant = Plant.model_validate({**PLANT, "shifts": []})
    report = _report_without_states(db_url, plant)
    assert report.production_hours_source == {
        "station_states": 0.0,
        "calendar": 0.0,
        "shift_plan": 0.0,
        "window": 3600.0,
    }
    assert report.production_hours == 1.0
    assert report.jph == 4.0
    assert report.downtime_total == []


def test_a_day_grouping_over_decades_is_refused(kpi_store: Engine) -> None:
    since = datetime(1970, 1, 1, tzinfo=UTC)  # the earliest a window may start
    with pytest.raises(LinespeedError, match="longer than 1000 days") as caught:
        kpi_report(kpi_store, since=since, until=at(3600), by="day")
    assert caught.value.code == "kpi.input"
    assert kpi_report(kpi_store, since=since, until=at(3600)).completed == 4
