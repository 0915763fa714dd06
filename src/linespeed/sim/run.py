"""One simulation run: plan the cars, compute the line's times, and know where to stop."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linespeed.plant.model import Line
from linespeed.sim.calendar import WorkCalendar
from linespeed.sim.engine import line_times
from linespeed.sim.errors import SimInputError
from linespeed.sim.plan import (
    CarPlan,
    Downtime,
    plan_cars,
    plan_downtime,
    planned_cars,
    release_times,
)
from linespeed.sim.scenario import LoadedScenario
from linespeed.sim.supply import SupplyPlan, plan_supply
from linespeed.sim.uncertainty import drawn

FloatArray = NDArray[np.float64]
_MARGIN_DAYS = 30
_MAX_DAYS = 40 * 366


@dataclass(frozen=True, eq=False)
class Shortages:
    """When a station waited for parts: [begin_s, end_s) per car held, and which part."""

    begin_s: FloatArray
    end_s: FloatArray
    part: NDArray[np.int64]
    """Index into `SupplyPlan.parts`."""


@dataclass(frozen=True, eq=False)
class SimRun:
    """A simulated line: the plan, when each car started and finished each station, the cut-off."""

    loaded: LoadedScenario
    line: Line
    seed: int
    calendar: WorkCalendar
    plan: CarPlan
    downtime: Downtime
    start_s: FloatArray
    complete_s: FloatArray
    until_s: float
    """Nothing later than this (seconds from time 0) is part of the run."""
    supply: SupplyPlan
    shortages: dict[int, Shortages]
    """Per station, the stretches it waited for parts with a car ready to work."""

    @property
    def cars(self) -> int:
        """Cars planned (some may not have started before the cut-off)."""
        return len(self.plan.release_s)


def simulate(
    loaded: LoadedScenario,
    *,
    until_units: int | None = None,
    days: float | None = None,
    seed: int | None = None,
) -> SimRun:
    """Simulate the scenario until `until_units` cars are completed, or for `days` days.

    Raises SimInputError (sim.input) if neither or both are given, or if they are not positive.
    """
    if (until_units is None) == (days is None):
        raise SimInputError(
            lambda n: f"give exactly one of {n('until_units')} and {n('days')}",
            parameter="until_units",
            value=until_units,
        )
    if (until_units is not None and until_units <= 0) or (days is not None and days <= 0):
        raise SimInputError(
            lambda n: f"{n('until_units')} and {n('days')} must be > 0, got {until_units or days}",
            parameter="until_units" if until_units is not None else "days",
            value=until_units if until_units is not None else days,
        )
    scenario = loaded.scenario
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    scenario = drawn(scenario, scenario.uncertainty, scenario.seed)
    loaded = LoadedScenario(scenario=scenario, plant=loaded.plant, source=loaded.source)
    plant = loaded.plant
    line = plant.lines_by_id[scenario.line] if scenario.line else plant.lines[0]
    if until_units is not None:
        # every car that may have started by the Nth completion: a full line (stations and
        # buffers, as it is when a station waits for parts) behind it, and the scrapped ones
        cars = (
            math.ceil(until_units / max(1e-9, 1.0 - scenario.scrap.p) * 1.01)
            + 2 * len(line.stations)
            + sum(station.buffer for station in line.stations)
            + 50
        )
        calendar_days = _days_for(loaded, cars)
    else:
        calendar_days = math.ceil(days or 0) + _MARGIN_DAYS
    while True:
        calendar = WorkCalendar(plant, scenario, calendar_days)
        if days is not None:
            cars = _cars_released_by(loaded, calendar, days * 86_400.0)
        plan = plan_cars(plant, line, scenario, calendar, cars)
        downtime = plan_downtime(line, scenario, calendar)
        # supply is planned against the whole calendar's plan, so any run gets the same lots
        planned_release, planned_model = planned_cars(plant, scenario, calendar, cars)
        supply = plan_supply(plant, line, scenario, planned_release, planned_model, cars)
        buffers = np.array([station.buffer for station in line.stations], dtype=np.int64)
        supplied = sorted(supply.ready_s)
        times = line_times(
            plan.process_s,
            buffers,
            plan.release_s,
            downtime.down_intervals(),
            supply.ready_s,
            departures_of=[*supplied, *(station - 1 for station in supplied if station > 0)],
        )
        if until_units is None:
            until_s = float(days or 0) * 86_400.0
            break
        until_s = _nth_completion(plan, times.complete_s[:, -1], until_units)
        if until_s <= calendar.horizon_s or calendar_days >= _MAX_DAYS:
            break
        # the line fell further behind its plan than the calendar reaches (parts short for
        # long): past the calendar there are no shifts, so run again on a longer one
        calendar_days = min(
            _MAX_DAYS, max(int(calendar_days * 1.5), math.ceil(until_s / 86_400.0) + _MARGIN_DAYS)
        )
        del plan, times  # the longer run's replace them: not both in memory at once
    shortages = _shortages(plan.release_s, times.kept_depart_s, supply)
    return SimRun(
        loaded,
        line,
        scenario.seed,
        calendar,
        plan,
        downtime,
        times.start_s,
        times.complete_s,
        until_s,
        supply,
        shortages,
    )


def require_from_start(loaded: LoadedScenario) -> None:
    """Raises SimInputError (sim.input) if the scenario resumes where a plant is (a twin):
    its cars would take VINs the plant already built, so it answers `whatif`, not events."""
    resume = loaded.scenario.resume
    if resume is not None:
        raise SimInputError(
            f"scenario {loaded.scenario.scenario!r} resumes at {resume.at.isoformat()} with "
            f"{resume.cars:,} cars built (a twin): it answers `linespeed whatif`; remove "
            "`resume` to simulate its events from start of production",
            parameter="resume",
            value=resume.at,
        )


def _shortages(
    release_s: FloatArray, depart_s: Mapping[int, FloatArray], supply: SupplyPlan
) -> dict[int, Shortages]:
    """Per station that waited for parts: from when the car and the station were both free
    (`depart_s`: the departures of those stations and of the ones before them)."""
    found = {}
    for station, ready in supply.ready_s.items():
        arrived = depart_s[station - 1] if station > 0 else release_s
        free = np.concatenate(([0.0], depart_s[station][:-1]))
        begin = np.maximum(arrived, free)
        held = np.flatnonzero(ready > begin)
        if len(held):
            found[station] = Shortages(begin[held], ready[held], supply.short_part[station][held])
    return found


def _days_for(loaded: LoadedScenario, cars: int) -> int:
    """Calendar days enough to release `cars` cars at the planned rates, with a margin."""
    days = 120
    while days < _MAX_DAYS:
        calendar = WorkCalendar(loaded.plant, loaded.scenario, days)
        needed_work = _work_for(loaded, calendar, cars)
        if needed_work < calendar.total_work_s * 0.9:
            return days + _MARGIN_DAYS
        days = int(days * 1.5)
    raise SimInputError(
        f"the ramp plan does not reach {cars} cars in 40 years", parameter="cars", value=cars
    )


def _work_for(loaded: LoadedScenario, calendar: WorkCalendar, cars: int) -> float:
    release = release_times(loaded.scenario, calendar, cars)
    return float(calendar.to_work(release[-1:])[0]) if len(release) else 0.0


def _cars_released_by(loaded: LoadedScenario, calendar: WorkCalendar, until_s: float) -> int:
    top_jph = max(step.jph for step in loaded.scenario.ramp)
    upper = int(calendar.total_work_s / 3600.0 * top_jph) + 10
    release = release_times(loaded.scenario, calendar, upper)
    return int(np.searchsorted(release, until_s, side="left")) or 1


def _nth_completion(plan: CarPlan, completed_at: FloatArray, units: int) -> float:
    completed = np.flatnonzero(plan.scrap_at < 0)
    if not 0 < units <= len(completed):
        raise SimInputError(
            f"car {units} is not among the {len(completed)} cars this run completes",
            parameter="units",
            value=units,
        )
    return float(completed_at[completed[units - 1]])


def completion_time(run: SimRun, units: int) -> float:
    """When the run's car number `units` is completed (seconds from time 0).

    Raises SimInputError (sim.input) if the run does not complete that many cars.
    """
    return _nth_completion(run.plan, run.complete_s[:, -1], units)


def start_after(run: SimRun, units: int) -> float:
    """The moment car number `units` completes, from which a continuation of the run starts.

    Raises SimInputError (sim.input) if `units` < 1 or the car completes at or after the
    end of the run (nothing would be left to emit).
    """
    if units < 1:
        raise SimInputError(
            lambda n: f"{n('units')} must be >= 1, got {units}", parameter="units", value=units
        )
    moment = completion_time(run, units)
    if moment >= run.until_s:
        raise SimInputError(
            f"car {units} completes at or after the end of the run: nothing to emit after it",
            parameter="units",
            value=units,
        )
    return moment
