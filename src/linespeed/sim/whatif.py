"""What-if: the line engine alone (no events) over many seeds, answered as P10/P50/P90.

Each replication is `sim.run.simulate` with its own seed; the R seeds are spawned from one
`numpy.random.SeedSequence(seed)`, so the same seed gives the same answer, and two
scenarios run with the same seed share their per-run seeds (common random numbers).

Per run, and then across runs:

- target: with `until_units=N`, the moment car N is completed; with `until=DATE`, the cars
  completed before DATE's midnight in the plant's time zone. P10/P50/P90 across runs
  (numpy's linear interpolation; counts are rounded down to whole cars).
- cars per week: cars completed from start of production (or from where the scenario
  resumes) to the run's end, divided by the weeks in between (a mean over the horizon);
  reported as the P50 of the runs.
- bottleneck share: the cars are cut into blocks of BLOCK_CARS consecutive cars; in each
  block the bottleneck is the station with the longest active time: the sum over the
  block's cars of the working time (of the calendar: nights and weekends not counted) from
  start to completion, C - S: processing, and down with a failure during a cycle; not
  blocked, not starved, not waiting for parts. A station's
  share is the time of the blocks (the span between the block's first and last completion)
  in which it was the bottleneck, divided by the time of all blocks; mean over runs.
- shortage hours: per part, the hours stations waited for it with a car ready to work
  (from the supply's release times), summed over stations; mean over runs. Clock hours:
  a wait over a night counts the night.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numba
import numpy as np
from numpy.typing import NDArray

from linespeed.sim.errors import SimInputError
from linespeed.sim.run import SimRun, completion_time, simulate
from linespeed.sim.scenario import LoadedScenario

FloatArray = NDArray[np.float64]

__all__ = ["MAX_RUNS", "Compare", "RunResult", "WhatIf", "compare", "whatif"]

MAX_RUNS = 10_000
BLOCK_CARS = 200
_IN_PROCESS_CARS = 200_000
"""Below this many cars over all runs, starting worker processes costs more than it saves."""
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
"""glibc's `mallopt` parameters (malloc.h)."""


@dataclass(frozen=True)
class RunResult:
    """One replication's answer."""

    seed: int
    target: float
    """Car N's completion (seconds from time 0), or the cars completed by the date."""
    cars_per_week: float
    bottleneck_s: dict[str, float]
    shortage_s: dict[str, float]


@dataclass(frozen=True)
class WhatIf:
    """The answer of R replications: the target's P10/P50/P90 and the line's figures."""

    target: str
    """'car N' or 'cars by YYYY-MM-DD'."""
    runs: tuple[RunResult, ...]
    p10: datetime | int
    p50: datetime | int
    p90: datetime | int
    """UTC completion times of car N (until_units), or car counts (until)."""
    cars_per_week: float
    bottleneck_share: dict[str, float]
    """Station -> share of time it was the bottleneck (sums to 1), largest first."""
    shortage_hours: dict[str, float]
    """Part -> mean hours stations waited for it, largest first."""

    def as_dict(self) -> dict[str, object]:
        """The JSON answer: timestamps as UTC ISO text."""

        def show(value: datetime | int) -> str | int:
            return (
                value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
            )

        return {
            "target": self.target,
            "runs": len(self.runs),
            "p10": show(self.p10),
            "p50": show(self.p50),
            "p90": show(self.p90),
            "cars_per_week": round(self.cars_per_week, 1),
            "bottleneck_share": {k: round(v, 4) for k, v in self.bottleneck_share.items()},
            "shortage_hours": {k: round(v, 1) for k, v in self.shortage_hours.items()},
        }


@dataclass(frozen=True)
class Compare:
    """Two scenarios with common random numbers; `difference_days`: other minus base, per run."""

    base: WhatIf
    other: WhatIf
    difference_days: dict[str, float]
    """P10/P50/P90 of (other - base) in days per run (for --until: in cars)."""

    def as_dict(self) -> dict[str, object]:
        """The JSON answer."""
        return {
            "base": self.base.as_dict(),
            "other": self.other.as_dict(),
            "difference_days": {k: round(v, 2) for k, v in self.difference_days.items()},
        }


def run_seeds(seed: int, runs: int) -> list[int]:
    """The R per-run seeds spawned from `seed` (the same for every scenario)."""
    children = np.random.SeedSequence(seed).spawn(runs)
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def _check(loaded: LoadedScenario, until_units: int | None, until: date | None, runs: int) -> None:
    if (until_units is None) == (until is None):
        raise SimInputError(
            lambda n: f"give exactly one of {n('until_units')} and {n('until')}",
            parameter="until_units",
            value=until_units,
        )
    if not 1 <= runs <= MAX_RUNS:
        raise SimInputError(
            lambda n: f"{n('runs')} must be from 1 to {MAX_RUNS:,}, got {runs}",
            parameter="runs",
            value=runs,
        )
    top_jph = max(step.jph for step in loaded.scenario.ramp)
    if until_units is not None and until_units > top_jph * 24 * 366 * 40:
        raise SimInputError(
            lambda n: (
                f"car {until_units} ({n('until_units')}) is never completed: the "
                f"scenario's ramp plan (at most {top_jph} jobs per hour) does not reach it within "
                "its calendar (40 years)"
            ),
            parameter="until_units",
            value=until_units,
        )
    if until_units is not None and until_units < 1:
        raise SimInputError(
            lambda n: f"{n('until_units')} must be >= 1, got {until_units}",
            parameter="until_units",
            value=until_units,
        )
    resume = loaded.scenario.resume
    if resume is not None and until_units is not None and until_units <= resume.cars:
        raise SimInputError(
            lambda n: (
                f"car {until_units:,} ({n('until_units')}) was already completed: the scenario "
                f"resumes at {resume.at.isoformat()} with {resume.cars:,} cars built"
            ),
            parameter="until_units",
            value=until_units,
        )
    start = loaded.scenario.start_of_production
    if resume is not None and until is not None and until <= resume.at.date():
        raise SimInputError(
            lambda n: (
                f"{n('until')} {until} is not after {resume.at.date()}, where the scenario "
                f"resumes with {resume.cars:,} cars built: it is already past"
            ),
            parameter="until",
            value=until,
        )
    if until is not None and until <= start:
        raise SimInputError(
            lambda n: (
                f"{n('until')} {until} is not after the start of production ({start}):"
                " no car is completed by then"
            ),
            parameter="until",
            value=until,
        )


def _until_days(loaded: LoadedScenario, until: date) -> float:
    zone = ZoneInfo(loaded.plant.timezone)
    start = datetime.combine(loaded.scenario.start_of_production, time(), zone)
    end = datetime.combine(until, time(), zone)
    return (end - start).total_seconds() / 86_400.0


def _measure(run: SimRun, until_units: int | None) -> RunResult:
    """One run's target, cars per week, bottleneck seconds and shortage seconds."""
    done = run.complete_s[:, -1]
    completed = run.plan.scrap_at < 0
    before = run.loaded.scenario.cars_before()
    if until_units is not None:
        end_s = completion_time(run, until_units - before)
        target = end_s
    else:
        end_s = run.until_s
        target = before + float(np.count_nonzero(completed & (done < end_s)))
    cars_done = int(np.count_nonzero(completed & (done <= end_s)))
    weeks = (end_s - _run_start_s(run)) / (7 * 86_400.0)
    # cars whose last station finished by the end: a prefix (FIFO line)
    cars = int(np.searchsorted(done, end_s, side="right"))
    # working time from start to completion: the calendar's off time (nights, weekends) is
    # no station's doing, down time from failures during the cycle is
    blocks = max(1, cars // BLOCK_CARS)
    usable = blocks * BLOCK_CARS if cars >= BLOCK_CARS else cars
    bottleneck_s: dict[str, float] = {}
    if usable:
        calendar = run.calendar
        per_block = _working_by_block(
            calendar.work, calendar.work_before, run.start_s, run.complete_s, blocks, usable
        )
        firsts = done[:usable].reshape(blocks, -1)
        span = firsts[:, -1] - firsts[:, 0]
        winner = per_block.argmax(axis=1)
        weight = np.bincount(winner, weights=span, minlength=per_block.shape[1])
        for station, seconds in zip(run.line.stations, weight, strict=True):
            if seconds > 0:
                bottleneck_s[station.id] = float(seconds)
    shortage_s: dict[str, float] = {}
    for found in run.shortages.values():
        waited = np.clip(found.end_s, None, end_s) - found.begin_s
        keep = waited > 0
        for index, seconds in zip(found.part[keep], waited[keep], strict=True):
            part = run.supply.parts[int(index)].part
            shortage_s[part] = shortage_s.get(part, 0.0) + float(seconds)
    return RunResult(
        run.seed, target, cars_done / weeks if weeks > 0 else 0.0, bottleneck_s, shortage_s
    )


def _run_start_s(run: SimRun) -> float:
    """Where the run starts: time 0, or where the scenario resumes."""
    resume = run.loaded.scenario.resume
    return 0.0 if resume is None else (resume.at - run.calendar.start_at).total_seconds()


@numba.njit(cache=True)
def _working_by_block(
    work: FloatArray,
    work_before: FloatArray,
    start_s: FloatArray,
    complete_s: FloatArray,
    blocks: int,
    cars: int,
) -> FloatArray:
    """Per block of the first `cars` cars (`blocks` blocks of consecutive cars) and station,
    the calendar's working seconds from start to completion, summed over the block's cars.

    Per car as `WorkCalendar.to_work(complete) - to_work(start)`, in one pass per station (a
    station's starts and completions are non-decreasing, so the interval only moves on);
    summed car by car in order, as numpy sums a (blocks x cars per block x M) array over
    its middle axis.
    """
    n_stations = start_s.shape[1]
    per_block = cars // blocks
    active = np.zeros((blocks, n_stations))
    last = len(work) - 1
    cursor = np.full((2, n_stations), -1)
    for car in range(cars):
        block, first = car // per_block, car % per_block == 0
        for station in range(n_stations):
            total = 0.0
            for side in range(2):
                wall = complete_s[car, station] if side == 0 else start_s[car, station]
                index = cursor[side, station]
                while index < last and work[index + 1, 0] <= wall:
                    index += 1
                cursor[side, station] = index
                done = 0.0
                if index >= 0:
                    inside = max(wall - work[index, 0], 0.0)
                    done = work_before[index] + min(inside, work[index, 1] - work[index, 0])
                total += done if side == 0 else -done
            if first:
                active[block, station] = total
            else:
                active[block, station] += total
    return active


def _one_run(
    loaded: LoadedScenario, until_units: int | None, days: float | None, seed: int
) -> RunResult:
    units = None if until_units is None else until_units - loaded.scenario.cars_before()
    try:
        run = simulate(loaded, until_units=units, days=days, seed=seed)
    except SimInputError as error:
        if error.parameter != "cars":
            raise
        raise SimInputError(
            lambda n: (
                f"car {until_units} ({n('until_units')}) is never completed: the "
                "scenario's ramp plan does not reach it within its calendar (40 years)"
            ),
            parameter="until_units",
            value=until_units,
        ) from None
    return _measure(run, until_units)


@functools.lru_cache(maxsize=2)
def _unpickled(frozen: bytes) -> LoadedScenario:
    loaded = pickle.loads(frozen)  # noqa: S301 (our own bytes, from the parent process)
    assert isinstance(loaded, LoadedScenario)
    return loaded


def _one_pickled_run(
    frozen: bytes, until_units: int | None, days: float | None, seed: int
) -> RunResult:
    return _one_run(_unpickled(frozen), until_units, days, seed)


def _keep_freed_memory() -> None:
    """Have glibc's malloc keep memory freed in this process for its next allocations.

    A run's arrays are hundreds of MB; by default each is mapped anew and given back when
    freed, so every run pays the page faults and zeroing again. In a worker process, which
    does nothing but runs, the next run reuses the pages of the last. numpy's huge pages
    are turned off here: on memory that is kept they only make the first run slower.
    Elsewhere than glibc (no `mallopt`), nothing is changed.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_MMAP_MAX, 0)  # large blocks from the heap, not from fresh mappings
    mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # and the heap not given back when they are freed
    multiarray = getattr(getattr(np, "_core", None), "multiarray", None)
    huge_pages = getattr(multiarray, "_set_madvise_hugepage", None)
    if callable(huge_pages):
        huge_pages(False)


def _replicate(
    loaded: LoadedScenario,
    until_units: int | None,
    days: float | None,
    seeds: Sequence[int],
    workers: int | None,
) -> list[RunResult]:
    cars = (until_units or (days or 0.0) * 24 * 60) * len(seeds)
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(seeds) == 1 or cars < _IN_PROCESS_CARS:
        return [_one_run(loaded, until_units, days, seed) for seed in seeds]
    # the rest in worker processes (numba loads its compiled kernels from its disk cache)
    count = len(seeds) - 1
    # pickled here, once: the pool's feeder thread would otherwise pickle `loaded` while the
    # run below fills its cached properties ("dictionary changed size during iteration")
    frozen = pickle.dumps(loaded)
    with ProcessPoolExecutor(
        max_workers=min(workers, count), initializer=_keep_freed_memory
    ) as pool:
        rest = pool.map(
            _one_pickled_run, [frozen] * count, [until_units] * count, [days] * count, seeds[1:]
        )
        # the first run here meanwhile: a target it cannot reach is reported from here
        first = _one_run(loaded, until_units, days, seeds[0])
        return [first, *rest]


def _percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    p10, p50, p90 = np.percentile(np.asarray(values, dtype=np.float64), [10, 50, 90])
    return float(p10), float(p50), float(p90)


def _summarise(
    loaded: LoadedScenario, target: str, results: list[RunResult], by_units: bool
) -> WhatIf:
    p10, p50, p90 = _percentiles([result.target for result in results])
    start = datetime.combine(
        loaded.scenario.start_of_production, time(), ZoneInfo(loaded.plant.timezone)
    ).astimezone(UTC)

    def answer(value: float) -> datetime | int:
        return start + timedelta(seconds=round(value)) if by_units else math.floor(value)

    total: dict[str, float] = {}
    for result in results:
        run_total = sum(result.bottleneck_s.values()) or 1.0
        for station, seconds in result.bottleneck_s.items():
            total[station] = total.get(station, 0.0) + seconds / run_total / len(results)
    shortage: dict[str, float] = {}
    for result in results:
        for part, seconds in result.shortage_s.items():
            shortage[part] = shortage.get(part, 0.0) + seconds / 3600.0 / len(results)
    return WhatIf(
        target=target,
        runs=tuple(results),
        p10=answer(p10),
        p50=answer(p50),
        p90=answer(p90),
        cars_per_week=float(np.median([result.cars_per_week for result in results])),
        bottleneck_share=dict(sorted(total.items(), key=lambda item: -item[1])),
        shortage_hours=dict(sorted(shortage.items(), key=lambda item: -item[1])),
    )


def whatif(
    loaded: LoadedScenario,
    *,
    until_units: int | None = None,
    until: date | None = None,
    runs: int = 30,
    seed: int | None = None,
    workers: int | None = None,
) -> WhatIf:
    """R replications of the engine alone: when car `until_units` is completed, or how many
    cars are completed by `until` (midnight in the plant's zone), as P10/P50/P90.

    `seed` (default: the scenario's) spawns the per-run seeds; `workers` processes (default:
    all cores; 1: in this process). Raises SimInputError (sim.input) if neither or both
    targets are given, `runs` is outside 1..MAX_RUNS, `until` is not after the start of
    production, or the scenario's ramp plan never reaches car `until_units`.
    """
    _check(loaded, until_units, until, runs)
    seeds = run_seeds(loaded.scenario.seed if seed is None else seed, runs)
    days = None if until is None else _until_days(loaded, until)
    results = _replicate(loaded, until_units, days, seeds, workers)
    target = f"car {until_units}" if until_units is not None else f"cars by {until}"
    return _summarise(loaded, target, results, until_units is not None)


def compare(
    base: LoadedScenario,
    other: LoadedScenario,
    *,
    until_units: int | None = None,
    until: date | None = None,
    runs: int = 30,
    seed: int | None = None,
    workers: int | None = None,
) -> Compare:
    """Both scenarios with common random numbers (the same per-run seeds, from `seed` or the
    base scenario's); the difference other - base per run, in days (with `until`: in cars).

    Raises SimInputError as `whatif` does.
    """
    seed = base.scenario.seed if seed is None else seed
    answers = [
        whatif(loaded, until_units=until_units, until=until, runs=runs, seed=seed, workers=workers)
        for loaded in (base, other)
    ]
    scale = 86_400.0 if until_units is not None else 1.0
    differences = [
        (theirs.target - ours.target) / scale
        for ours, theirs in zip(answers[0].runs, answers[1].runs, strict=True)
    ]
    p10, p50, p90 = _percentiles(differences)
    return Compare(answers[0], answers[1], {"p10": p10, "p50": p50, "p90": p90})
