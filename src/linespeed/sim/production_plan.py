"""The production plan a scenario stands for: its shift pattern and ramp as plan rows.

One row per day and shift that the shift pattern runs, for the scenario's line, every
model (an empty `model`): the ramp's planned jobs per hour that day times the shift's
working hours (its breaks left out), rounded. Days the pattern runs no shift have no row,
so a plan from SOP to the last day says which days and shifts the simulated line worked.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from linespeed.plant.model import Shift
from linespeed.sim.run import SimRun
from linespeed.sim.scenario import WEEKDAYS, LoadedScenario
from linespeed.supply.plan_file import PlanRow


def scenario_plan(loaded: LoadedScenario, last_day: date) -> list[PlanRow]:
    """The plan rows of the scenario from its start of production to `last_day` (included)."""
    scenario, plant = loaded.scenario, loaded.plant
    line = scenario.line or plant.lines[0].id
    shifts = {shift.name: shift for shift in plant.shifts}
    rows: list[PlanRow] = []
    day = scenario.start_of_production
    while day <= last_day:
        period = next((p for p in reversed(scenario.shift_pattern) if p.start <= day), None)
        step = next((s for s in reversed(scenario.ramp) if s.start <= day), None)
        if period is not None and WEEKDAYS[day.weekday()] in period.days:
            jph = 0.0 if step is None else step.jph
            for name in period.shifts:
                hours = working_minutes(shifts[name]) / 60.0
                rows.append(PlanRow(day, line, name, None, round(jph * hours)))
        day += timedelta(days=1)
    return rows


def working_minutes(shift: Shift) -> int:
    """Minutes of a shift less its breaks, on the wall clock (an end at or before the start
    is on the next day)."""

    def minutes(clock: str) -> int:
        hour, minute = (int(part) for part in clock.split(":"))
        return hour * 60 + minute

    span = (minutes(shift.end) - minutes(shift.start)) % 1440 or 1440
    pauses = sum((minutes(b.end) - minutes(b.start)) % 1440 for b in shift.breaks)
    return max(span - pauses, 0)


def run_plan(run: SimRun) -> list[PlanRow]:
    """The plan rows of a run: from start of production to the day (plant time) it ends."""
    zone = ZoneInfo(run.loaded.plant.timezone)
    last_day = run.calendar.at(max(run.until_s - 1.0, 0.0)).astimezone(zone).date()
    return scenario_plan(run.loaded, last_day)
