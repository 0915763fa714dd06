"""Milestones reached, and the plan for which car becomes the Nth completed car."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from linespeed.errors import LinespeedError
from linespeed.plant.model import Plant
from linespeed.ramp.milestones import (
    milestone_numbers,
    milestones_reached,
    next_milestone,
    plan_milestone,
)
from tests.conftest import ingest
from tests.ingest.line import event, full_line, start, through, vin


def _line(engine: Engine, plant: Plant, completed: int, on_line: int, scrapped: int = 0) -> None:
    events: list[dict[str, object]] = []
    number = 0
    for _ in range(completed):
        number += 1
        events += [start(plant, "s7", number), *full_line(plant, vin(plant, "s7", number))]
    for _ in range(scrapped):
        number += 1
        events += [
            start(plant, "s7", number),
            event("unit.scrapped", vin=vin(plant, "s7", number), station="body-010", reason="x"),
        ]
    for k in range(on_line):
        number += 1
        car = vin(plant, "s7", number)
        events += [
            start(plant, "s7", number),
            *through(plant, car, plant.lines[0].stations[k + 1].id),
        ]
    assert {o.status for o in ingest(engine, events)} == {"accepted"}


def test_milestone_numbers_of_the_default_plant(plant: Plant) -> None:
    assert milestone_numbers(plant, 310_000) == [1, 10_000, 50_000, 100_000, 200_000, 300_000]
    assert next_milestone(plant, 0) == 1
    assert next_milestone(plant, 10_000) == 50_000
    assert next_milestone(plant, 250_000) == 300_000


@pytest.mark.slow
def test_reached_milestones_name_the_car(engine: Engine, plant: Plant) -> None:
    _line(engine, plant, completed=2, on_line=1)
    report = milestones_reached(engine)
    assert report.completed == 2
    assert [(car.number, car.vin) for car in report.reached] == [(1, vin(plant, "s7", 1))]
    assert report.next_milestone == 10_000
    assert report.reached[0].days_since_sop >= 0
    assert report.reached[0].was_planned is None


def test_plan_names_the_car_on_the_line_that_will_be_nth(engine: Engine, plant: Plant) -> None:
    _line(engine, plant, completed=3, on_line=4)
    plan = plan_milestone(engine, 5)
    assert plan.best is not None
    assert (plan.best.start_seq, plan.best.vin, plan.best.started) == (5, vin(plant, "s7", 5), True)
    assert plan.best.probability == pytest.approx(1.0)
    beyond = plan_milestone(engine, 9)
    assert beyond.best is not None
    assert (beyond.best.start_seq, beyond.best.vin, beyond.best.started) == (9, None, False)


def test_scrap_spreads_the_plan_over_later_cars(engine: Engine, plant: Plant) -> None:
    _line(engine, plant, completed=3, on_line=4, scrapped=1)
    plan = plan_milestone(engine, 5)
    assert plan.scrap_rate == pytest.approx(0.25)
    assert plan.best is not None and plan.best.start_seq == 6  # the 2nd car on the line
    assert plan.best.probability < 1.0
    assert len(plan.candidates) > 1
    assert sum(c.probability for c in plan.candidates) == pytest.approx(1.0, abs=0.01)


def test_a_recorded_plan_is_checked_when_the_car_completes(engine: Engine, plant: Plant) -> None:
    _line(engine, plant, completed=0, on_line=1)
    plan = plan_milestone(engine, 1, record=True)
    assert plan.best is not None and plan.best.vin == vin(plant, "s7", 1)
    car = vin(plant, "s7", 1)
    outcomes = ingest(engine, [*through(plant, car, first=1), event("unit.completed", vin=car)])
    assert {o.status for o in outcomes} == {"accepted"}
    (reached,) = milestones_reached(engine).reached
    assert (reached.planned_vin, reached.was_planned) == (car, True)
    assert plan_milestone(engine, 1).reached == reached


def test_bad_milestone_number(engine: Engine) -> None:
    for number in (0, -5, 2**62):
        with pytest.raises(LinespeedError, match="must be from 1 to 1,000,000,000") as caught:
            plan_milestone(engine, number)
        assert caught.value.code == "milestone.input"


def test_a_plan_far_ahead_spreads_over_future_cars(engine: Engine, plant: Plant) -> None:
    _line(engine, plant, completed=3, on_line=2, scrapped=1)
    plan = plan_milestone(engine, 5_000)
    assert plan.best is not None and not plan.best.started and plan.best.vin is None
    # 4,995 more survivors from the first car on the line, a quarter of cars scrapped
    expected = 5 + 4_995 / 0.75 - 1
    assert abs(plan.best.start_seq - expected) < 60
    assert 0 < plan.best.probability < 0.05
