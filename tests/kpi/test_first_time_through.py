"""One definition of "first time through" (docs/kpi.md#first-time-through): a car is first
time through at a scope (a station, or the whole plant) when it has no failed check and no
defect opened there. First-pass yield, the quality ratio's good quantity (stations and
lines) and the board all read it.

The case of issue 15: two cars pass every check; one has a scratch opened and repaired at
st-10. It was reworked, so it is not first time through: first-pass yield and the line's
quality ratio are both 1 / 2 (before, first-pass yield said 2 / 2 beside a quality ratio of
1 / 2 for the same two cars).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from linespeed.kpi import KpiReport, kpi_report
from linespeed.live.board import line_board
from tests.conftest import ingest
from tests.kpi.example import Events, at, example_plant


def two_cars(store: Engine, *, failed_before_window: bool = False) -> None:
    """Cars 0 and 1 through st-10, st-20, st-30 at takt (60 s), every check passed; car 1
    has a scratch opened at st-10 and repaired before the gate. With
    `failed_before_window`, car 0 fails its torque check at 95 s, is re-tested and passes
    at 100 s."""
    events = Events(example_plant())
    for number in (0, 1):
        start = number * 60.0
        car = events.car(number, "s7", "pearl-white", start)
        if number == 1:
            events.defect(start + 20, start + 40, car, "st-10", f"d-{number}", "scratch")
        events.visit(car, "st-10", start, start + 50)
        if failed_before_window and number == 0:
            events.check(95, car, "st-20", "torque", "fail")
        events.check(start + 100, car, "st-20", "torque", "pass")
        events.visit(car, "st-20", start + 50, start + 105)
        events.check(start + 140, car, "st-30", "leak", "pass")
        events.visit(car, "st-30", start + 105, start + 145)
        events.add(start + 145, "unit.completed", vin=car)
    outcomes = ingest(store, events.items)
    assert [outcome.status for outcome in outcomes if outcome.status != "accepted"] == []


@pytest.fixture
def report(kpi_empty: Engine) -> KpiReport:
    two_cars(kpi_empty)
    return kpi_report(kpi_empty, since=at(0), until=at(3600))


def test_a_car_with_a_defect_opened_and_repaired_is_not_first_time_through(
    report: KpiReport,
) -> None:
    # Both cars were inspected (torque, leak); car 1 was reworked: FPY = 1 / 2.
    assert (report.units_inspected, report.units_first_pass) == (2, 1)
    assert report.first_pass_yield == pytest.approx(0.5)


def test_first_pass_yield_and_the_lines_quality_ratio_agree(report: KpiReport) -> None:
    (line,) = report.lines
    # The same two cars, the same one good: GQ / PQ = 1 / 2 = FPY.
    assert (line.completed, line.good) == (2, 1)
    assert line.quality_ratio == pytest.approx(0.5)
    assert line.quality_ratio == report.first_pass_yield


def test_a_station_where_a_defect_was_opened_loses_the_car_from_its_good_quantity(
    report: KpiReport,
) -> None:
    st10, st20, st30 = report.stations
    # Car 1's scratch was found at st-10: st-10 processed 2, first time through 1.
    assert (st10.processed, st10.good, st10.quality_ratio) == (2, 1, 0.5)
    # st-20 and st-30 found nothing: both cars good there.
    assert (st20.processed, st20.good) == (2, 2)
    assert (st30.processed, st30.good) == (2, 2)


def test_first_pass_yield_by_station_uses_the_same_definition(kpi_empty: Engine) -> None:
    two_cars(kpi_empty)
    report = kpi_report(kpi_empty, since=at(0), until=at(3600), by="station")
    st10, st20, st30 = report.groups
    # st-10 has no check: the car it opened a defect on was inspected there (the defect is
    # the finding), and it is not first time through.
    assert (st10.units_inspected, st10.units_first_pass, st10.first_pass_yield) == (1, 0, 0.0)
    assert (st20.units_inspected, st20.units_first_pass, st20.first_pass_yield) == (2, 2, 1.0)
    assert (st30.units_inspected, st30.units_first_pass, st30.first_pass_yield) == (2, 2, 1.0)


def test_by_model_and_day_use_the_same_definition(kpi_empty: Engine) -> None:
    two_cars(kpi_empty)
    for by in ("model", "day", "shift"):
        report = kpi_report(kpi_empty, since=at(0), until=at(3600), by=by)
        (group,) = [row for row in report.groups if row.units_inspected]
        assert (group.units_inspected, group.units_first_pass) == (2, 1), by


def test_the_board_shows_the_same_first_pass_yield(kpi_empty: Engine) -> None:
    two_cars(kpi_empty)
    board = line_board(kpi_empty, day=date(2025, 6, 30))
    assert (board.today.units_inspected, board.today.first_pass_yield) == (2, 0.5)


def test_a_check_failed_before_the_window_and_passed_in_it_is_not_a_first_pass(
    kpi_empty: Engine,
) -> None:
    # The window opens at 100 s. Car 0 failed torque at 95 s and passed the re-test at
    # 100 s: in the window it was re-tested, which is rework, not a first pass (before, it
    # counted as one). Car 1's scratch was opened at 80 s, before the window, too.
    two_cars(kpi_empty, failed_before_window=True)
    report = kpi_report(kpi_empty, since=at(100), until=at(3600))
    assert (report.units_inspected, report.units_first_pass) == (2, 0)
    (line,) = report.lines
    assert (line.completed, line.good) == (2, 0)
