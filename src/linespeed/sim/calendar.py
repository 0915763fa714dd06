"""Working time of a line: shifts and breaks over the days, as intervals in seconds.

Time 0 is midnight (plant local time) at the start of production; all times are seconds
from then. Working time is what the shift pattern plans; everything else is planned stop.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numba
import numpy as np
from numpy.typing import NDArray

from linespeed.errors import LinespeedError
from linespeed.plant.model import Plant, Shift
from linespeed.sim.scenario import WEEKDAYS, Scenario

FloatArray = NDArray[np.float64]

_CACHE_SIZE = 64
_LOCK = threading.Lock()
_CACHE: dict[tuple[object, int], tuple[FloatArray, FloatArray]] = {}
"""Working intervals and working seconds before each, by the calendar's inputs and length."""
_DAY_SPANS: dict[object, list[FloatArray]] = {}
"""By the calendar's inputs, the shift spans of each day from start of production on."""


class WorkCalendar:
    """The planned working intervals of a line from start of production over `days` days."""

    def __init__(self, plant: Plant, scenario: Scenario, days: int) -> None:
        """Raises LinespeedError if the shift pattern plans no working time at all.

        Calendars of the same shifts, time zone, start of production, shift pattern and
        length are the same: they are made once per process (see `_CACHE`).
        """
        self.zone = ZoneInfo(plant.timezone)
        self.start_at = datetime.combine(scenario.start_of_production, time(), self.zone)
        self.days = days
        # everything the working intervals depend on: extend it with any new input
        key = (plant.timezone, plant.shifts, scenario.start_of_production, scenario.shift_pattern)
        with _LOCK:
            known = _CACHE.get((key, days))
            if known is None:
                if key not in _DAY_SPANS and len(_DAY_SPANS) >= _CACHE_SIZE:
                    _DAY_SPANS.pop(next(iter(_DAY_SPANS)))
                spans = _DAY_SPANS.setdefault(key, [])
                known = self._working_intervals(plant, scenario, days, spans)
                if len(_CACHE) >= _CACHE_SIZE:
                    _CACHE.pop(next(iter(_CACHE)))
                _CACHE[(key, days)] = known
        # each calendar its own copies: nothing one run does to them reaches another
        self.work = known[0].copy()
        self._work_before = known[1].copy()
        self.horizon_s = float(days * 86_400)

    def _working_intervals(
        self, plant: Plant, scenario: Scenario, days: int, day_spans: list[FloatArray]
    ) -> tuple[FloatArray, FloatArray]:
        """The merged working intervals and the working seconds before each (and in all).

        `day_spans[offset]` holds the shift spans of each day from start of production
        computed so far; the missing days are added to it.
        """
        shifts = {shift.name: shift for shift in plant.shifts}
        periods = scenario.shift_pattern
        for offset in range(len(day_spans), days):
            day = scenario.start_of_production + timedelta(days=offset)
            period = next((p for p in reversed(periods) if p.start <= day), None)
            spans: list[tuple[float, float]] = []
            if period is not None and WEEKDAYS[day.weekday()] in period.days:
                for name in period.shifts:
                    spans.extend(self._shift_spans(day, shifts[name]))
            day_spans.append(np.array(spans, dtype=np.float64).reshape(-1, 2))
        found = [spans for spans in day_spans[:days] if len(spans)]
        if not found:
            raise LinespeedError(
                f"the shift pattern of scenario {scenario.scenario!r} plans no working time "
                f"in {days} days from {scenario.start_of_production}",
                code="scenario.no_work",
            )
        joined = np.concatenate(found)
        work = _merge(joined[np.lexsort((joined[:, 1], joined[:, 0]))])
        lengths = work[:, 1] - work[:, 0]
        return work, np.concatenate(([0.0], np.cumsum(lengths)))

    def _seconds(self, day: date, clock: str) -> float:
        hour, minute = (int(part) for part in clock.split(":"))
        local = datetime.combine(day, time(hour, minute), self.zone)
        return (local.astimezone(UTC) - self.start_at.astimezone(UTC)).total_seconds()

    def _shift_spans(self, day: date, shift: Shift) -> list[tuple[float, float]]:
        start = self._seconds(day, shift.start)
        end_day = day + timedelta(days=1) if shift.end <= shift.start else day
        end = self._seconds(end_day, shift.end)
        cuts = []
        for brk in shift.breaks:
            brk_day = day if brk.start >= shift.start else day + timedelta(days=1)
            brk_start = self._seconds(brk_day, brk.start)
            brk_end_day = brk_day + timedelta(days=1) if brk.end < brk.start else brk_day
            cuts.append((brk_start, self._seconds(brk_end_day, brk.end)))
        spans, cursor = [], start
        for cut_start, cut_end in sorted(cuts):
            if cut_start > cursor:
                spans.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if end > cursor:
            spans.append((cursor, end))
        return spans

    @property
    def total_work_s(self) -> float:
        """Working seconds over the whole calendar."""
        return float(self._work_before[-1])

    def off_intervals(self) -> FloatArray:
        """The (K × 2) intervals of planned stop between 0 and the end of the calendar."""
        starts = np.concatenate(([0.0], self.work[:, 1]))
        ends = np.concatenate((self.work[:, 0], [self.horizon_s + 365 * 86_400.0]))
        keep = ends > starts
        return np.column_stack((starts[keep], ends[keep]))

    @property
    def work_before(self) -> FloatArray:
        """Working seconds before each working interval starts (one more: the total)."""
        return self._work_before

    def to_wall(self, work_s: FloatArray) -> FloatArray:
        """The clock times at which `work_s` seconds of working time have passed."""
        work = np.asarray(work_s, dtype=np.float64)
        flat = np.ascontiguousarray(work.reshape(-1))
        return _to_wall(self.work, self._work_before, flat).reshape(work.shape)

    def to_work(self, wall_s: FloatArray) -> FloatArray:
        """The working seconds passed by the clock times `wall_s`."""
        wall = np.asarray(wall_s, dtype=np.float64)
        index = np.searchsorted(self.work[:, 0], wall, side="right") - 1
        inside = np.clip(wall - self.work[np.maximum(index, 0), 0], 0, None)
        length = self.work[np.maximum(index, 0), 1] - self.work[np.maximum(index, 0), 0]
        done = self._work_before[np.maximum(index, 0)] + np.minimum(inside, length)
        return np.asarray(np.where(index < 0, 0.0, done), dtype=np.float64)

    def at(self, seconds: float) -> datetime:
        """The UTC moment `seconds` after time 0."""
        return self.start_at.astimezone(UTC) + timedelta(seconds=seconds)


@numba.njit(cache=True)
def _to_wall(work: FloatArray, work_before: FloatArray, work_s: FloatArray) -> FloatArray:
    """`WorkCalendar.to_wall`: for each time, the last working interval starting at or
    before it (as `searchsorted(work_before, t, "right") - 1`, kept within the intervals);
    in one pass where the times are sorted, by bisection where one goes back."""
    wall_s = np.empty(len(work_s))
    last = len(work) - 1
    index = 0
    for k in range(len(work_s)):
        time_s = work_s[k]
        if np.isnan(time_s):
            index = last  # numpy sorts NaN after everything
        elif time_s < work_before[index]:
            index = min(max(np.searchsorted(work_before, time_s, side="right") - 1, 0), last)
        else:
            while index < last and work_before[index + 1] <= time_s:
                index += 1
        wall_s[k] = work[index, 0] + (time_s - work_before[index])
    return wall_s


def _merge(spans: FloatArray) -> FloatArray:
    """Sorted spans with touching or overlapping ones joined."""
    if not len(spans):
        return np.empty((0, 2), dtype=np.float64)
    starts, ends = spans[:, 0], spans[:, 1]
    reach = np.maximum.accumulate(ends)  # the latest end so far
    # a span starts a new interval where it begins after everything before it has ended
    first = np.flatnonzero(np.concatenate(([True], starts[1:] > reach[:-1])))
    last = np.append(first[1:] - 1, len(spans) - 1)
    return np.column_stack((starts[first], reach[last])).astype(np.float64)


def merge_intervals(*interval_sets: FloatArray) -> FloatArray:
    """The union of several (K × 2) interval arrays, sorted and non-overlapping."""
    given = [s for s in interval_sets if len(s)]
    if not given:
        return np.empty((0, 2), dtype=np.float64)
    joined = np.concatenate(given)
    return _merge(joined[np.argsort(joined[:, 0], kind="stable")])
