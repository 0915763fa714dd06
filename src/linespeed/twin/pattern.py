"""The stored plan as a scenario's shift pattern and ramp (the inverse of `sim.production_plan`).

A day the plan covers works the shifts its rows name with a quantity (an empty shift: every
shift of the plant), at `quantity / working hours` jobs per hour (breaks left out). Weeks
(Monday to Sunday) become shift-pattern periods: a new period begins when the shifts or the
weekdays worked change; a week with no work at all (a shutdown) cannot be a period and is
reported instead. The ramp steps where a day's rate differs from its step's by more than
`RAMP_TOLERANCE` (plans round quantities to whole cars). Past the plan's last day, its last
period and step go on (the scenario's own rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from linespeed.plant.model import Line, Plant, Shift
from linespeed.sim.production_plan import working_minutes
from linespeed.sim.scenario import WEEKDAYS
from linespeed.supply.plan import DayPlan

RAMP_TOLERANCE: Final = 0.02


@dataclass
class Period:
    """From a day on, the shifts that run and the weekdays they run on; weeks it spans."""

    start: date
    shifts: tuple[str, ...]
    days: tuple[str, ...]
    weeks: int = 1


@dataclass
class Step:
    """From a day on, the planned jobs per hour; the days and cars it rests on."""

    start: date
    jph: float
    days: int
    cars: int
    hours: float


@dataclass
class Pattern:
    """The plan as periods and steps, and what of it could not be kept."""

    periods: list[Period]
    steps: list[Step]
    first_day: date
    last_day: date
    shutdowns: list[date] = field(default_factory=list)
    """Mondays of weeks the plan runs no shift at all (run as the weeks around them)."""


def plan_pattern(
    plan: dict[date, DayPlan], plant: Plant, line: Line, start: date
) -> Pattern | None:
    """The plan of `line` from `start` on as periods and steps; None if no day of it has work.

    The first period and step are moved back to `start` (a scenario plans from start of
    production on).
    """
    shifts = {shift.name: shift for shift in plant.shifts}
    worked: dict[date, tuple[tuple[str, ...], int]] = {}
    for day, day_plan in plan.items():
        if day < start:
            continue
        names: set[str] = set()
        quantity = 0
        for row in day_plan.rows:
            if row.line != line.id or row.quantity <= 0:
                continue
            names.update([row.shift] if row.shift else shifts)
            quantity += row.quantity
        worked[day] = (tuple(sorted(names, key=list(shifts).index)), quantity)
    if not any(quantity for _, quantity in worked.values()):
        return None
    covered = sorted(worked)
    periods = _periods(worked, covered, list(shifts))
    steps = _steps(worked, covered, shifts)
    periods[0].start = steps[0].start = start
    shutdowns = [
        monday
        for monday in sorted({day - timedelta(day.weekday()) for day in covered})
        if all(worked.get(monday + timedelta(k), ((), 0))[1] == 0 for k in range(7))
        and all(monday + timedelta(k) in worked for k in range(7))
    ]
    return Pattern(periods, steps, covered[0], covered[-1], shutdowns)


def _periods(
    worked: dict[date, tuple[tuple[str, ...], int]], covered: list[date], order: list[str]
) -> list[Period]:
    periods: list[Period] = []
    for monday in sorted({day - timedelta(day.weekday()) for day in covered}):
        week = [monday + timedelta(k) for k in range(7)]
        known = [day for day in week if day in worked]
        working = [day for day in known if worked[day][1] > 0]
        if not working:
            continue  # a shutdown (or nothing known): the periods around it go on
        names = tuple(name for name in order if any(name in worked[day][0] for day in working))
        days = tuple(WEEKDAYS[day.weekday()] for day in working)
        if periods:
            last = periods[-1]
            known_days = {WEEKDAYS[day.weekday()] for day in known}
            same_days = {d for d in last.days if d in known_days} == set(days)
            if set(last.shifts) == set(names) and same_days:
                last.weeks += 1
                continue
        periods.append(Period(working[0], names, days))
    return periods


def _steps(
    worked: dict[date, tuple[tuple[str, ...], int]], covered: list[date], shifts: dict[str, Shift]
) -> list[Step]:
    steps: list[Step] = []
    for day in covered:
        names, quantity = worked[day]
        if quantity <= 0:
            continue
        hours = sum(working_minutes(shifts[name]) / 60.0 for name in names if name in shifts)
        if hours <= 0:
            continue
        jph = quantity / hours
        if steps:
            step = steps[-1]
            if abs(jph - step.jph) <= RAMP_TOLERANCE * step.jph:
                step.cars += quantity
                step.hours += hours
                step.days += 1
                step.jph = step.cars / step.hours
                continue
        steps.append(Step(day, jph, 1, quantity, hours))
    return steps
