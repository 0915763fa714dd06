"""The line's down time is the time its output was lost (docs/kpi.md#the-lines-down-time):
stops the buffers and a station's slack absorbed cost the line nothing, so a window at
full rate has an effectiveness of at most 1 (issue 15: the demo's live window said 111.6 %).

The line of the worked example (takt 60 s; st-10 50 s, st-20 55 s, st-30 40 s) runs one
car a takt: car j starts at 60 j - 150 and is completed at 60 j - 5.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from linespeed.kpi import KpiReport, kpi_report
from tests.conftest import ingest
from tests.kpi.example import Events, at, example_plant


def full_rate(
    store: Engine,
    cars: int,
    *,
    late_from: int | None = None,
    delay_s: float = 0.0,
    st30_down: tuple[float, float] | None = None,
    st10_jams: bool = True,
) -> None:
    """Cars 0..cars-1 at takt; from car `late_from` on, every car `delay_s` later. st-10
    reports `down` for the 10 s after each car it finishes (inside its slack: it needs 50 s
    of the 60 s takt), so it is down a sixth of the time and never holds a car up (unless
    not `st10_jams`). With `st30_down`, st-30 is down over that span."""
    events = Events(example_plant())
    if st30_down is not None:
        events.add(st30_down[0], "station.state", station="st-30", state="down", reason="conveyor")
        events.add(st30_down[1], "station.state", station="st-30", state="running")
    for number in range(cars):
        late = delay_s if late_from is not None and number >= late_from else 0.0
        start = 60.0 * number - 150 + late
        car = events.car(number, "s7", "pearl-white", start)
        events.visit(car, "st-10", start, start + 50)
        if st10_jams:
            events.add(start + 50, "station.state", station="st-10", state="down", reason="jam")
            events.add(start + 60, "station.state", station="st-10", state="running")
        events.visit(car, "st-20", start + 50, start + 105)
        events.visit(car, "st-30", start + 105, start + 145)
        events.add(start + 145, "unit.completed", vin=car)
    events.items.sort(key=lambda item: str(item["ts"]))
    outcomes = ingest(store, events.items)
    assert [outcome.status for outcome in outcomes if outcome.status != "accepted"] == []


def test_stops_the_line_absorbed_are_not_the_lines_down_time(kpi_empty: Engine) -> None:
    full_rate(kpi_empty, 70)
    report: KpiReport = kpi_report(kpi_empty, since=at(0), until=at(3600))
    (line,) = report.lines
    # Cars 1..60 are completed at 55, 115, ..., 3595: one a takt, the line's full rate.
    assert line.completed == 60
    # st-10 was down 10 s of every 60 (600 s in the hour): its own availability shows it...
    st10 = report.stations[0]
    assert st10.unplanned_down_s == pytest.approx(600.0)
    # ...but no car was late leaving the line: the line lost no output, no down time.
    # (Before issue 15: down 600 s, APT 3000 s, effectiveness 60 x 60 / 3000 = 1.2.)
    assert (line.planned_busy_s, line.unplanned_down_s, line.actual_production_s) == (
        3600.0,
        0.0,
        3600.0,
    )
    assert line.availability == 1.0
    assert line.effectiveness == pytest.approx(1.0)
    assert line.oee == pytest.approx(1.0)


def test_an_ordinary_window_at_full_rate_stays_at_or_below_100_percent(
    kpi_empty: Engine,
) -> None:
    full_rate(kpi_empty, 200)
    # Half an hour, an hour, two hours, opening anywhere in a car's cycle: PQ counts the
    # cars completed inside the window; the lost time is measured inside it too, from the
    # last car before it. Effectiveness is 1 (60 cars an hour at takt 60 s), never above.
    for since_s in (0.0, 17.5, 54.9, 55.0, 601.0, 1234.5):
        for length_s in (1800.0, 3600.0, 7200.0):
            report = kpi_report(kpi_empty, since=at(since_s), until=at(since_s + length_s))
            (line,) = report.lines
            assert line.unplanned_down_s == 0.0
            assert line.effectiveness == pytest.approx(1.0), (since_s, length_s)
            assert line.effectiveness <= 1.0 + 1e-9, (since_s, length_s)


def test_a_window_cut_inside_a_cycle_counts_at_most_one_car_more_than_takt_allows(
    kpi_empty: Engine,
) -> None:
    # A window whose length is no whole number of takts holds the completions of either
    # floor or ceil(length / takt) cars: PQ is a count of cars (docs/kpi.md: the limit at
    # the window's edges). 54.9 .. 7287.9 s holds cars 1..121 (55 .. 7255 s): 121 x 60 s
    # = 7260 s of takt in 7233 s.
    full_rate(kpi_empty, 200)
    report = kpi_report(kpi_empty, since=at(54.9), until=at(54.9 + 7233.0))
    (line,) = report.lines
    assert (line.completed, line.unplanned_down_s) == (121, 0.0)
    assert line.effectiveness == pytest.approx(121 * 60 / 7233)
    assert line.completed <= line.actual_production_s / line.takt_s + 1


def test_the_line_is_down_while_its_output_is_lost_to_a_stop(kpi_empty: Engine) -> None:
    # st-30 breaks down from 1200 to 1500: car 21 (due at 1255) leaves at 1555 instead,
    # and every car after it 300 s late. The line's output was lost from 1255 (one takt
    # after car 20 left at 1195) until st-30 was repaired at 1500: 245 s of down time.
    # Refilling after the repair (1500 .. 1555) is a speed loss, not down time.
    full_rate(
        kpi_empty, 70, late_from=21, delay_s=300.0, st30_down=(1200.0, 1500.0), st10_jams=False
    )
    report = kpi_report(kpi_empty, since=at(0), until=at(3600))
    (line,) = report.lines
    assert line.unplanned_down_s == pytest.approx(245.0)
    assert line.actual_production_s == pytest.approx(3600.0 - 245.0)
    # Cars 1..20 and 21..55 (car 55 leaves at 3595): 55 cars.
    assert line.completed == 55
    assert line.effectiveness == pytest.approx(60 * 55 / 3355)
    assert line.effectiveness <= 1.0
    # OEE = PRU x GQ / PBT whatever the split.
    assert line.oee == pytest.approx(60 * 55 / 3600)
