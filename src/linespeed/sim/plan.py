"""What the simulated line is asked to build and how long everything takes, sampled up front.

Every random process draws from its own stream, seeded from the scenario's seed and the
stream's name, in car order: a run is reproducible, and changing one process (say the
defect rate of one check) leaves every other draw as it was.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np
from numpy.typing import NDArray

from linespeed.plant.model import Line, Plant
from linespeed.sim.calendar import WorkCalendar, merge_intervals
from linespeed.sim.scenario import CycleTime, Scenario

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream `name` of a run seeded with `seed`."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


@dataclass(frozen=True)
class Check:
    """A check made on the line: where, what, how often it fails and the rework it takes."""

    station: int
    name: str
    p_fail: float
    rework_s: float
    """Time to repair, off the line (in a repair bay); the defect must be closed by the gate."""


@dataclass(frozen=True, eq=False)
class _EventDraws:
    """What the draws only events need are made from (see `CarPlan`)."""

    plant: Plant
    scenario: Scenario
    line: Line


@dataclass(frozen=True, eq=False)
class CarPlan:
    """N cars in start order: what each is, when it may start, and every sampled duration.

    `color`, `failed` and `ship_delay_s` only matter to the events: each is drawn when it
    is first read, from its own stream, so it is the same whenever (and whether) it is read.
    """

    model: IntArray
    release_s: FloatArray
    process_s: FloatArray
    """(N x M) seconds of work per station (0 where a car passes an optional station by)."""
    checks: tuple[Check, ...]
    scrap_at: IntArray
    """The station where each car is scrapped, or -1."""
    _draws: _EventDraws = field(repr=False)

    @cached_property
    def color(self) -> IntArray:
        """Per car, the index of its colour among its model's colours."""
        return _colors(self._draws.plant, self._draws.scenario, self.model)

    @cached_property
    def failed(self) -> BoolArray:
        """(N x K) whether each car fails each of the line's K checks (`checks`)."""
        seed, stations = self._draws.scenario.seed, self._draws.line.stations
        cars = len(self.model)
        failed = np.zeros((cars, len(self.checks)), dtype=np.bool_)
        for k, check in enumerate(self.checks):
            failed[:, k] = (
                stream(seed, f"defect:{stations[check.station].id}:{check.name}").random(cars)
                < check.p_fail
            )
        return failed

    @cached_property
    def ship_delay_s(self) -> FloatArray:
        """Per car, the seconds from completion to shipping."""
        scenario, cars = self._draws.scenario, len(self.model)
        mean_delay = scenario.shipping.delay_h * 3600.0
        if not mean_delay:
            return np.zeros(cars)
        return stream(scenario.seed, "shipping").exponential(mean_delay, cars)


@dataclass(frozen=True, eq=False)
class Downtime:
    """When each station cannot work: planned stops, and failures with their repair."""

    planned: FloatArray
    failures: tuple[FloatArray, ...]

    def down_intervals(self) -> list[FloatArray]:
        """Per station, the union of planned stops and its failures."""
        return [merge_intervals(self.planned, failures) for failures in self.failures]


def plan_cars(
    plant: Plant, line: Line, scenario: Scenario, calendar: WorkCalendar, cars: int
) -> CarPlan:
    """Sample `cars` cars: model, release time, work, scrap; colour, failed checks and
    shipping when first read (see `CarPlan`)."""
    seed = scenario.seed
    model = _models(plant, scenario, cars)
    release = release_times(scenario, calendar, cars)
    days = release / 86_400.0
    stations = line.stations
    # station by station, each station's cars side by side; then car by car for the engine
    by_station = np.empty((len(stations), cars), dtype=np.float64)
    slower: dict[tuple[float, float], FloatArray] = {}
    for index, station in enumerate(stations):
        if station.optional:
            by_station[index] = 0.0  # simulated cars pass optional stations by
            continue
        setting = scenario.cycle_time.stations.get(station.id, scenario.cycle_time.default)
        _cycle_times(
            stream(seed, f"cycle:{station.id}"),
            setting,
            station.cycle_s,
            days,
            out=by_station[index],
            slower=slower,
        )
    process = np.ascontiguousarray(by_station.T)
    del by_station
    checks = tuple(
        Check(index, name, defect.p_fail, defect.rework_min * 60.0)
        for index, station in enumerate(stations)
        for name in station.checks
        for defect in [scenario.defects.checks.get(name, scenario.defects.default)]
    )
    scrap_at = _scrap(seed, scenario.scrap.p, cars, len(stations))
    for car in np.flatnonzero(scrap_at >= 0):
        process[car, scrap_at[car] + 1 :] = 0.0  # a scrapped car is taken off the line
    return CarPlan(model, release, process, checks, scrap_at, _EventDraws(plant, scenario, line))


def planned_cars(
    plant: Plant, scenario: Scenario, calendar: WorkCalendar, cars: int
) -> tuple[FloatArray, IntArray]:
    """Planned release times and models of every car the plan releases within the calendar.

    At least `cars` cars; the first of them are the cars `plan_cars` samples, whatever the
    run's length, so the parts supply planned against them is the same in any run.
    """
    top_jph = max(step.jph for step in scenario.ramp)
    upper = max(cars, int(calendar.total_work_s / 3600.0 * top_jph) + 10)
    release = release_times(scenario, calendar, upper)
    count = max(cars, int(np.searchsorted(release, calendar.horizon_s, side="left")))
    return release[:count], _models(plant, scenario, count)


def _models(plant: Plant, scenario: Scenario, cars: int) -> IntArray:
    """Each car's model (an index into `plant.models`), drawn by the scenario's mix."""
    models = plant.models
    weights = np.array(
        [scenario.mix.models.get(m.id, 0.0 if scenario.mix.models else 1.0) for m in models]
    )
    model = stream(scenario.seed, "mix:model").choice(
        len(models), size=cars, p=weights / weights.sum()
    )
    return model.astype(np.int64)


def _colors(plant: Plant, scenario: Scenario, model: IntArray) -> IntArray:
    """Each car's colour (an index into its model's colours), drawn by the scenario's mix."""
    cars = len(model)
    color = np.zeros(cars, dtype=np.int64)
    draws = stream(scenario.seed, "mix:color").random(cars)
    for index, spec in enumerate(plant.models):
        given = scenario.mix.colors.get(spec.id, {})
        shares = np.array(
            [
                given.get(c, 0.0) if given else float(c != plant.milestones.color)
                for c in spec.colors
            ]
        )
        if not shares.sum():
            shares = np.ones(len(spec.colors))
        edges = np.cumsum(shares / shares.sum())
        mine = model == index
        color[mine] = np.minimum(
            np.searchsorted(edges, draws[mine], side="right"), len(spec.colors) - 1
        )
    return color


def release_times(scenario: Scenario, calendar: WorkCalendar, cars: int) -> FloatArray:
    """Planned start times: cars spaced 3600 / jph seconds of working time, by ramp step,
    from the start of production.

    A scenario that resumes (`resume`) releases the plan's cars after its `cars`: those the
    plan had released before `at` come at `at` at once (a line behind its plan works off its
    backlog as fast as it can, then follows the plan); a line ahead of its plan follows the
    plan's rates from `at` on.
    """
    before = scenario.cars_before()
    work = _release_work(scenario, calendar, before + cars)
    if scenario.resume is not None:
        resume_s = (scenario.resume.at - calendar.start_at).total_seconds()
        resume_work = float(calendar.to_work(np.array([resume_s]))[0])
        work = work[before:]
        ahead = max(0.0, float(work[0]) - resume_work) if len(work) else 0.0
        work = np.maximum(work - ahead, resume_work)
    return calendar.to_wall(work)


def _release_work(scenario: Scenario, calendar: WorkCalendar, cars: int) -> FloatArray:
    """The working-time positions of the plan's first `cars` releases."""
    sop = scenario.start_of_production
    bounds = [(step.start - sop).days * 86_400.0 for step in scenario.ramp] + [math.inf]
    work_bounds = calendar.to_work(np.array(bounds[:-1]))
    work_bounds = np.append(work_bounds, math.inf)
    releases: list[FloatArray] = [np.empty(0, dtype=np.float64)]
    made, position = 0, float(work_bounds[0])
    for index, step in enumerate(scenario.ramp):
        gap = 3600.0 / step.jph
        position = max(position, float(work_bounds[index]))
        room = work_bounds[index + 1] - position
        count = cars - made if math.isinf(room) else min(cars - made, int(room // gap) + 1)
        if count <= 0:
            continue
        releases.append(position + gap * np.arange(count, dtype=np.float64))
        made += count
        position += gap * count
        if made >= cars:
            break
    return np.concatenate(releases)[:cars]


def _cycle_times(
    rng: np.random.Generator,
    setting: CycleTime,
    cycle_s: float,
    days: FloatArray,
    out: FloatArray | None = None,
    slower: dict[tuple[float, float], FloatArray] | None = None,
) -> FloatArray:
    """Lognormal work times around the station's mean, slower early in the ramp (learning).

    Written into `out` if given. `slower`, if given, keeps the learning factors by start
    factor and half-life for the next station with the same (and the same `days`).
    """
    key = (setting.start_factor, setting.halflife_days)
    factor = None if slower is None else slower.get(key)
    if factor is None:
        factor = 1.0 + (setting.start_factor - 1.0) * np.power(0.5, days / setting.halflife_days)
        if slower is not None:
            slower[key] = factor
    mean = (setting.mean_s or cycle_s) * factor
    sigma = math.sqrt(math.log1p(setting.cv**2))
    # mean * exp(sigma * normal - sigma^2 / 2)
    times = _scaled_normals(rng, np.empty(len(days)) if out is None else out, sigma, sigma**2 / 2.0)
    np.exp(times, out=times)
    np.multiply(mean, times, out=times)
    return times


@numba.njit(cache=True)
def _scaled_normals(
    rng: np.random.Generator, out: FloatArray, scale: float, shift: float
) -> FloatArray:
    """`out` filled with `scale * z - shift` for the next standard normal draws z of `rng`:
    as numpy computes it from `rng.standard_normal(out=out)` (numba runs numpy's algorithm,
    the same numbers), in a third of the time."""
    for index in range(len(out)):
        out[index] = scale * rng.standard_normal() - shift
    return out


def _scrap(seed: int, p: float, cars: int, stations: int) -> IntArray:
    scrapped = stream(seed, "scrap").random(cars) < p
    where = stream(seed, "scrap-station").integers(0, stations, cars)
    return np.where(scrapped, where, -1).astype(np.int64)


def gate_after(checks: tuple[Check, ...], gates: list[bool]) -> list[int]:
    """For each check, the gate station where its defect is repaired (or the last station)."""
    found = []
    for check in checks:
        later = [i for i in range(check.station, len(gates)) if gates[i]]
        found.append(later[0] if later else len(gates) - 1)
    return found


def plan_downtime(line: Line, scenario: Scenario, calendar: WorkCalendar) -> Downtime:
    """Planned stops of the line, and each station's failures over the whole calendar."""
    failures = []
    for station in line.stations:
        setting = scenario.failures.stations.get(station.id, scenario.failures.default)
        if setting is None:
            failures.append(np.empty((0, 2), dtype=np.float64))
            continue
        mtbf_s, mttr_s = setting.mtbf_h * 3600.0, setting.mttr_min * 60.0
        expected = int(calendar.total_work_s / (mtbf_s + mttr_s) * 1.5) + 10
        # separate streams: a longer run repeats a shorter one's failures exactly
        ups = stream(scenario.seed, f"failure:{station.id}").exponential(mtbf_s, expected)
        repairs = stream(scenario.seed, f"repair:{station.id}").exponential(mttr_s, expected)
        fail_at = np.cumsum(ups + np.concatenate(([0.0], repairs[:-1])))
        keep = fail_at < calendar.total_work_s
        start, end = (
            calendar.to_wall(fail_at[keep]),
            calendar.to_wall(fail_at[keep] + repairs[keep]),
        )
        failures.append(np.column_stack((start, end))[end > start])
    return Downtime(calendar.off_intervals(), tuple(failures))
