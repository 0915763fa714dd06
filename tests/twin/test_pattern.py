"""The stored plan read back as a shift pattern and a ramp (the inverse of scenario_plan)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linespeed.plant.model import Plant
from linespeed.sim.production_plan import scenario_plan
from linespeed.sim.scenario import DEFAULT_SCENARIO_PATH, load_scenario
from linespeed.supply.plan import DayPlan, PlanEntry
from linespeed.supply.plan_file import PlanRow
from linespeed.twin.pattern import plan_pattern


def day_plans(rows: list[PlanRow], first: date, last: date) -> dict[date, DayPlan]:
    """Rows as the plan in force each day from `first` to `last` (days without rows: off)."""
    plan = {first + timedelta(days=k): DayPlan(1, []) for k in range((last - first).days + 1)}
    for row in rows:
        plan[row.day].rows.append(
            PlanEntry(row.day, row.line, row.shift, row.model, row.quantity, 1)
        )
    return plan


def test_the_bundled_scenario_plan_reads_back_as_its_pattern_and_ramp(plant: Plant) -> None:
    loaded = load_scenario(DEFAULT_SCENARIO_PATH)
    scenario = loaded.scenario
    sop = scenario.start_of_production
    last = sop + timedelta(days=500)
    pattern = plan_pattern(
        day_plans(scenario_plan(loaded, last), sop, last), plant, plant.lines[0], sop
    )
    assert pattern is not None
    # the first week starts on a Friday: its first period holds that day alone
    periods = [(p.start, p.shifts, p.days) for p in pattern.periods if p.start != sop]
    expected = [(p.start, p.shifts, p.days) for p in scenario.shift_pattern[1:]]
    assert [p for p in periods if p[0] >= expected[0][0]] == expected
    assert pattern.periods[0].start == sop and pattern.periods[0].shifts == ("A",)
    steps = [(s.start, s.jph) for s in pattern.steps]
    assert [start for start, _ in steps] == [step.start for step in scenario.ramp]
    for (_, jph), step in zip(steps, scenario.ramp, strict=True):
        assert jph == pytest.approx(step.jph, rel=0.002)  # plans round to whole cars a shift
    assert pattern.shutdowns == []


def test_a_shutdown_week_is_reported_and_a_holiday_makes_its_week_a_period(
    plant: Plant,
) -> None:
    monday = date(2025, 1, 6)
    rows = [
        PlanRow(monday + timedelta(days=k), "l1", "A", None, 400)
        for k in range(35)
        if (monday + timedelta(days=k)).weekday() < 5
        and not 7 <= k < 14  # the second week: shut down
        and k != 16  # the third week's Wednesday: a holiday
    ]
    last = monday + timedelta(days=34)
    pattern = plan_pattern(day_plans(rows, monday, last), plant, plant.lines[0], monday)
    assert pattern is not None
    assert pattern.shutdowns == [monday + timedelta(days=7)]
    assert [(p.start, p.days) for p in pattern.periods] == [
        (monday, ("mon", "tue", "wed", "thu", "fri")),
        (monday + timedelta(days=14), ("mon", "tue", "thu", "fri")),
        (monday + timedelta(days=21), ("mon", "tue", "wed", "thu", "fri")),
    ]
    assert [step.jph for step in pattern.steps] == pytest.approx([50.0])  # 400 in 8 h


def test_no_work_for_the_line_is_no_pattern(plant: Plant) -> None:
    day = date(2025, 1, 6)
    rows = [PlanRow(day, "l1", "A", None, 0)]
    assert plan_pattern(day_plans(rows, day, day), plant, plant.lines[0], day) is None
