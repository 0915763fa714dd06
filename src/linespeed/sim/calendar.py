"""Working time of a line: shifts and breaks over the days, as intervals in seconds.

Time 0 is midnight (plant local time) at the start of production; all times are seconds
from then. Working time is what the shift pattern plans; everything else is planned stop.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from linespeed.errors import LinespeedError
from linespeed.plant.model import Plant, Shift
from linespeed.sim.scenario import WEEKDAYS, Scenario

FloatArray = NDArray[np.float64]


class WorkCalendar:
    """The planned working intervals of a line from start of production over `days` days."""

    def __init__(self, plant: Plant, scenario: Scenario, days: int) -> None:
        """Raises LinespeedError if the shift pattern plans no working time at all."""
        self.zone = ZoneInfo(plant.timezone)
        self.start_at = datetime.combine(scenario.start_of_production, time(), self.zone)
        self.days = days
        shifts = {shift.name: shift for shift in plant.shifts}
        spans: list[tuple[float, float]] = []
        periods = scenario.shift_pattern
        for offset in range(days):
            day = scenario.start_of_production + timedelta(days=offset)
            period = next((p for p in reversed(periods) if p.start <= day), None)
            if period is None or WEEKDAYS[day.weekday()] not in period.days:
                continue
            for name in period.shifts:
                spans.extend(self._shift_spans(day, shifts[name]))
        if not spans:
            raise LinespeedError(
                f"the shift pattern of scenario {scenario.scenario!r} plans no working time "
                f"in {days} days from {scenario.start_of_production}",
                code="scenario.no_work",
            )
        self.work = _merge(np.array(sorted(spans), dtype=np.float64))
        lengths = self.work[:, 1] - self.work[:, 0]
        self._work_before = np.concatenate(([0.0], np.cumsum(lengths)))
        self.horizon_s = float(days * 86_400)

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
        index = np.searchsorted(self._work_before, work, side="right") - 1
        index = np.clip(index, 0, len(self.work) - 1)
        return np.asarray(self.work[index, 0] + (work - self._work_before[index]), dtype=np.float64)

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


def _merge(spans: FloatArray) -> FloatArray:
    """Sorted spans with touching or overlapping ones joined."""
    merged: list[list[float]] = []
    for start, end in spans.tolist():
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=np.float64)


def merge_intervals(*interval_sets: FloatArray) -> FloatArray:
    """The union of several (K × 2) interval arrays, sorted and non-overlapping."""
    joined = (
        np.concatenate([s for s in interval_sets if len(s)]) if interval_sets else np.empty((0, 2))
    )
    if not len(joined):
        return np.empty((0, 2), dtype=np.float64)
    return _merge(joined[np.argsort(joined[:, 0], kind="stable")])
