"""The production calendar of a report window, and what the stored plan asks for in it.

A shift runs on a day that a plan revision covers only if a plan row names it (a row with
an empty shift: every shift of the plant); a covered day with no row for a line plans no
production on it. On a day no revision covers, every shift of the plant runs (without
shifts: the whole day). A shift belongs to the day it starts on. docs/plan.md.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from linespeed.kpi.intervals import Coverage
from linespeed.kpi.window import Window, local_midnight, shift_on
from linespeed.plant.model import Plant
from linespeed.supply.plan import DayPlan, day_plans

DaySource: TypeAlias = Literal["calendar", "shift_plan", "window"]
"""Where a day's shifts come from: the stored plan, the plant's shifts, or neither (no
shifts: the whole day is working time)."""


@dataclass(frozen=True)
class Day:
    """A plant-local day: its bounds in epoch seconds and where its shifts come from."""

    day: date
    start_s: float
    end_s: float
    source: DaySource


@dataclass(frozen=True, eq=False)
class PlannedSlice:
    """One plan row with the working time it is planned over (epoch seconds)."""

    day: date
    line: str
    shift: str | None
    model: str | None
    quantity: int
    working: Coverage

    @cached_property
    def bounds(self) -> tuple[float, float]:
        """The start of its first working span and the end of its last (epoch seconds)."""
        if not len(self.working.starts):
            return (0.0, 0.0)
        return float(self.working.starts[0]), float(self.working.ends[-1])

    def reaches(self, spans: Sequence[tuple[float, float]]) -> bool:
        """Whether any of its working time lies inside `spans`."""
        first, last = self.bounds
        return any(
            lo < last and hi > first and self.working.between(lo, hi) > 0 for lo, hi in spans
        )

    def share(self, spans: Iterable[tuple[float, float]]) -> float:
        """The cars of this row planned inside `spans`: its quantity, pro rata to working time."""
        total = self.working.total_s
        if total <= 0:
            return 0.0
        inside = sum(self.working.between(lo, hi) for lo, hi in spans)
        return self.quantity * inside / total


class Calendar:
    """The production calendar over the local days a window touches (and the day before it,
    whose night shift may reach into the window)."""

    def __init__(self, plant: Plant, window: Window, plan: dict[date, DayPlan]) -> None:
        """`plan` is the plan in force for the covered days (see `load_calendar`)."""
        self.plant = plant
        self.window = window
        self.zone = ZoneInfo(plant.timezone)
        self.plan = plan
        first = window.since.astimezone(self.zone).date() - timedelta(days=1)
        last = window.until.astimezone(self.zone).date()
        days: list[Day] = []
        day = first
        while day <= last:
            source: DaySource = (
                "calendar" if day in plan else "shift_plan" if plant.shifts else "window"
            )
            days.append(Day(day, self._midnight(day), self._midnight(day + timedelta(1)), source))
            day += timedelta(days=1)
        self.days = days

    def _midnight(self, day: date) -> float:
        return local_midnight(day, self.zone).timestamp()

    def _spans(self, day: Day, shifts: Sequence[str] | None) -> list[tuple[float, float]]:
        """Working spans on `day` of the named shifts (None: every shift of the plant)."""
        chosen = [s for s in self.plant.shifts if shifts is None or s.name in shifts]
        if not self.plant.shifts:
            return [(day.start_s, day.end_s)]
        return [
            (a.timestamp(), b.timestamp())
            for shift in chosen
            for a, b in shift_on(day.day, shift, self.zone).working
        ]

    def working(self, line: str) -> Coverage:
        """When `line` is planned to work, over every day of the calendar."""
        spans: list[tuple[float, float]] = []
        for day in self.days:
            if day.source != "calendar":
                spans += self._spans(day, None)
                continue
            mine = [row for row in self.plan[day.day].rows if row.line == line]
            if not mine:
                continue  # a covered day without a row: no production planned
            if any(row.shift is None for row in mine):
                spans += self._spans(day, None)
            else:
                spans += self._spans(day, sorted({row.shift for row in mine if row.shift}))
        return Coverage(spans)

    @cached_property
    def slices(self) -> list[PlannedSlice]:
        """Every plan row of the calendar's days with the working time it covers."""
        found: list[PlannedSlice] = []
        for day in self.days:
            if day.source != "calendar":
                continue
            for row in self.plan[day.day].rows:
                spans = self._spans(day, None if row.shift is None else [row.shift])
                working = Coverage(spans)
                if working.total_s <= 0:
                    working = Coverage([(day.start_s, day.end_s)])
                found.append(
                    PlannedSlice(day.day, row.line, row.shift, row.model, row.quantity, working)
                )
        return sorted(found, key=lambda piece: piece.bounds[0])

    @cached_property
    def _firsts(self) -> list[float]:
        return [piece.bounds[0] for piece in self.slices]

    def _near(self, spans: Sequence[tuple[float, float]]) -> list[PlannedSlice]:
        """The slices that may reach into `spans`: those starting up to two days before them
        (no shift is longer) and before their end."""
        if not spans:
            return []
        lo = min(start for start, _ in spans) - 2 * 86_400.0
        hi = max(end for _, end in spans)
        return self.slices[bisect_left(self._firsts, lo) : bisect_right(self._firsts, hi)]

    @cached_property
    def covered(self) -> Coverage:
        """The days a plan revision covers, as one set of intervals."""
        return Coverage((d.start_s, d.end_s) for d in self.days if d.source == "calendar")

    def coverage(self, spans: Iterable[tuple[float, float]]) -> float | None:
        """The share (0..1) of `spans` on days a plan revision covers; None for no time."""
        pairs = list(spans)
        total = sum(hi - lo for lo, hi in pairs)
        if total <= 0:
            return None
        return sum(self.covered.between(lo, hi) for lo, hi in pairs) / total

    def planned(
        self,
        spans: Iterable[tuple[float, float]],
        *,
        line: str | None = None,
        model: str | None = None,
    ) -> float | None:
        """Cars the plan asks for inside `spans` (of `line`, of `model`, if given), pro rata to
        working time (a night shift of a planned day counts where its hours fall); None if no
        plan revision covers any of `spans` and no planned shift reaches into them."""
        pairs = list(spans)
        reached = [piece for piece in self._near(pairs) if piece.reaches(pairs)]
        if not self.coverage(pairs) and not reached:
            return None
        return sum(
            piece.share(pairs)
            for piece in reached
            if (line is None or piece.line == line) and (model is None or piece.model == model)
        )


def load_calendar(connection: Connection, plant: Plant, window: Window) -> Calendar:
    """The production calendar for `window`, with the plan in force on its days."""
    zone = ZoneInfo(plant.timezone)
    first = window.since.astimezone(zone).date() - timedelta(days=1)
    last = window.until.astimezone(zone).date()
    return Calendar(plant, window, day_plans(connection, first, last))
