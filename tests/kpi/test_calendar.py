"""Production hours from the production calendar, and KPIs against the stored plan.

One day shift (07:00 to 15:30, break 11:00 to 11:30: 8 working hours) on the worked
example's plant, tracked by units; 48 cars completed on 30 June, one `down` state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from linespeed.kpi import kpi_report
from linespeed.live.board import line_board
from linespeed.plant.model import Plant
from linespeed.supply.plan import import_plan
from tests.backends import store_url
from tests.conftest import ingest, make_store
from tests.kpi.example import PLANT, Events, at

DAY_SHIFT = {
    "name": "day",
    "start": "07:00",
    "end": "15:30",
    "breaks": [{"start": "11:00", "end": "11:30"}],
}
NIGHT_SHIFT = {"name": "night", "start": "22:00", "end": "06:00"}
MIDNIGHT = at(-8 * 3600)
"""00:00 local on 30 June."""
HOUR = 3600.0


def calendar_plant(*shifts: dict[str, Any]) -> Plant:
    lines = [{**PLANT["lines"][0], "tracking": "units"}]
    return Plant.model_validate({**PLANT, "lines": lines, "shifts": list(shifts)})


def day_events(plant: Plant, *, planned_stop: bool = False) -> list[dict[str, Any]]:
    """48 cars completed from 07:10 to 15:00 (10 minutes apart, the break too), one down
    state of st-20 from 10:00 to 10:10, optionally a planned stop of st-30 at 13:00, and
    last, at 16:00, st-10 reporting `running` (the board's day runs to the last event)."""
    events = Events(plant)
    for number in range(48):
        done = -HOUR + 600 * (number + 1)  # seconds after 08:00
        car = events.car(number, "s7" if number % 3 else "x9", "pearl-white", done - 500)
        events.add(done, "unit.completed", vin=car)
    events.add(2 * HOUR, "station.state", station="st-20", state="down", reason="jam")
    events.add(2 * HOUR + 600, "station.state", station="st-20", state="running")
    if planned_stop:
        events.add(5 * HOUR, "station.state", station="st-30", state="planned-stop")
        events.add(5 * HOUR + 900, "station.state", station="st-30", state="running")
    events.add(8 * HOUR, "station.state", station="st-10", state="running")  # 16:00, the last
    return events.items


@pytest.fixture
def day_store(backend: str) -> Iterator[Engine]:
    """The day shift plant with the day's events."""
    plant = calendar_plant(DAY_SHIFT)
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant)
        assert {o.status for o in ingest(store, day_events(plant))} == {"accepted"}
        yield store
        store.dispose()


def test_one_down_state_does_not_make_the_whole_day_production_time(day_store: Engine) -> None:
    # The three views of one day agree: 48 cars in the day shift's 8 working hours.
    whole = kpi_report(day_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1))
    by_day = kpi_report(day_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1), by="day")
    by_shift = kpi_report(day_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1), by="shift")
    board = line_board(day_store, day=date(2025, 6, 30)).today
    (day,) = by_day.groups
    shift = next(group for group in by_shift.groups if group.key == "day")
    off = next(group for group in by_shift.groups if group.key == "off-shift")
    assert [whole.production_hours, day.production_hours, shift.production_hours] == [8.0] * 3
    assert [whole.jph, day.jph, shift.jph, board.jph] == [6.0] * 4
    assert (off.production_hours, off.completed) == (0.0, 0)
    assert whole.completed == board.completed == 48
    # The down state is an availability loss inside the shift, not a planned stop. The
    # line's down time is the output it lost (docs/kpi.md, issue 15): a car left at 10:00,
    # the next was due a takt (60 s) later, and st-20 was down until 10:10: 540 s. (Before
    # issue 15 the line counted st-20's whole 600 s, output lost or not.)
    assert whole.lines[0].unplanned_down_s == 540.0
    assert whole.stations[1].unplanned_down_s == 600.0
    assert whole.production_hours_source == {
        "station_states": 0.0,
        "calendar": 0.0,
        "shift_plan": 86400.0,
        "window": 0.0,
    }


def test_planned_stop_states_and_the_shift_plan_together(backend: str) -> None:
    plant = calendar_plant(DAY_SHIFT)
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant)
        ingest(store, day_events(plant, planned_stop=True))
        report = kpi_report(store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1))
        store.dispose()
    # st-30 reports a planned stop of 15 minutes in the shift: 7.75 h of production.
    assert report.production_hours == 7.75
    assert report.production_hours_source == {
        "station_states": 900.0,
        "calendar": 0.0,
        "shift_plan": 85500.0,
        "window": 0.0,
    }
    assert ("st-30", "planned-stop", None, 900.0) in [
        (e.station, e.state, e.reason, e.seconds) for e in report.downtime_by_station
    ]


@pytest.fixture
def planned_store(backend: str) -> Iterator[Engine]:
    """Day and night shifts; the plan covers 30 June to 2 July (night shift on 30 June
    only, nothing on 1 July); 3 July has no plan."""
    plant = calendar_plant(DAY_SHIFT, NIGHT_SHIFT)
    with store_url(backend, "sqlite://") as url:
        store = make_store(url, plant)
        ingest(store, day_events(plant))
        plan = (
            "date,line,shift,model,quantity\n"
            "2025-06-30,l1,day,s7,32\n"
            "2025-06-30,l1,day,x9,16\n"
            "2025-06-30,l1,night,s7,20\n"
            "2025-07-02,l1,,,100\n"
        )
        import_plan(store, plan.encode(), "plan.csv")
        yield store
        store.dispose()


def test_kpis_against_the_plan(planned_store: Engine) -> None:
    day = kpi_report(planned_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1))
    # 30 June: 48 planned in the day shift (all built), 20 in the night shift from 22:00
    # to 06:00: 2 of its 8 hours fall on 30 June.
    assert day.planned == 53.0
    assert day.planned_vs_actual == pytest.approx(48 / 53)
    assert day.plan_coverage == 1.0
    assert day.lines[0].planned == 53.0
    assert day.lines[0].planned_vs_actual == pytest.approx(48 / 53)
    # The plan names the shifts: the day shift's 8 h and 2 h of the night shift, and the
    # last 6 h of 29 June's night shift (no plan covers 29 June: every plant shift runs).
    assert day.production_hours == 16.0
    assert day.production_hours_source["calendar"] == 86400.0
    assert day.production_hours_source["shift_plan"] == 0.0
    by_shift = kpi_report(
        planned_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1), by="shift"
    )
    assert [(g.key, g.planned, g.completed) for g in by_shift.groups] == [
        ("day", 48.0, 48),
        ("night", 5.0, 0),
        ("off-shift", 0.0, 0),
    ]
    by_model = kpi_report(
        planned_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1), by="model"
    )
    assert [(g.key, g.planned, g.completed, g.planned_vs_actual) for g in by_model.groups] == [
        ("s7", 37.0, 32, pytest.approx(32 / 37)),
        ("x9", 16.0, 16, 1.0),
    ]


def test_the_board_compares_with_the_stored_plan(planned_store: Engine) -> None:
    # The day so far (to 16:00, the last event): the day shift's 48 cars; the night shift
    # has not started.
    today = line_board(planned_store, day=date(2025, 6, 30)).today
    assert (today.completed, today.planned, today.plan_source) == (48, 48, "plan")
    assert today.plan_note == "the stored plan for the day so far"


def test_without_a_plan_the_board_falls_back_to_takt(day_store: Engine) -> None:
    today = line_board(day_store, day=date(2025, 6, 30)).today
    # Takt 60 s: 60 cars an hour over the 8 production hours.
    assert (today.planned, today.planned_at_takt, today.plan_source) == (None, 480, "takt")
    assert today.plan_note == (
        "no plan is stored for the day: plan at takt for the production hours so far"
    )


def test_a_planned_day_without_rows_has_no_production_hours(planned_store: Engine) -> None:
    first = MIDNIGHT + timedelta(days=1)
    report = kpi_report(planned_store, since=first, until=first + timedelta(days=3), by="day")
    # 1 July: no row, only the 30 June night shift's last 6 h (15 of its 20 cars); 2 July:
    # every shift runs, 100 cars over its 16 working hours: the day shift (8 h) and the
    # night shift's first 2 h fall on 2 July (62.5 cars), its last 6 h on 3 July (37.5),
    # which no plan covers: the plant's shifts run (the day shift, the night from 22:00).
    assert [(g.key, g.production_hours, g.planned, g.plan_coverage) for g in report.groups] == [
        ("2025-07-01", 6.0, 15.0, 1.0),
        ("2025-07-02", 10.0, 62.5, 1.0),
        ("2025-07-03", 16.0, 37.5, 0.0),
    ]
    assert report.plan_coverage == pytest.approx(2 / 3)
    assert report.planned == 115.0
    assert any("the plan covers 67% of the window" in note for note in report.notes)
    assert report.production_hours_source == {
        "station_states": 0.0,
        "calendar": 2 * 86400.0,
        "shift_plan": 86400.0,
        "window": 0.0,
    }
    downtime = {(e.reason, e.planned) for e in report.downtime_total}
    assert downtime == {("production plan (calendar)", True), ("shift plan (plant file)", True)}


def test_no_plan_no_planned(day_store: Engine) -> None:
    report = kpi_report(day_store, since=MIDNIGHT, until=MIDNIGHT + timedelta(days=1))
    assert (report.planned, report.planned_vs_actual, report.plan_coverage) == (None, None, 0.0)
    assert (
        "no production plan covers the window: planned and planned_vs_actual are None"
        in report.notes
    )
