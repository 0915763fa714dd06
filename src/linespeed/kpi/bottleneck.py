"""The average active period method (Roser, Nakano, Tanaka 2001), from station visits.

For each station, cars are taken in the order they completed it. Car j's time at the station
splits into:

- processing, [S_j, C_j): `started_at` to `completed_at` of the visit; in-cycle down time is
  part of it, planned stops are taken out;
- blocked, [C_j, D_j): the finished car waits for room downstream. D_j, when it left, is not
  an event; it is inferred as the start, at the next station the car visited, of the car
  `places` positions ahead of it there (`places` = buffer places in between plus skipped
  stations), which is exact for a first-in-first-out line with blocking after service;
  D_j is clipped to [C_j, S_{j+1}];
- starved, [D_j, S_{j+1}): the station waits for the next car.

Stops (planned, down, changeover) inside blocked and starved time are not waiting: planned
stops count for nothing, unplanned down counts as active (Roser: repair is an active state).
An active period is a run of cars with no more than `JOIN_GAP_S` of waiting between them;
the station with the longest average active period is the bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, select

from linespeed.kpi.intervals import Coverage
from linespeed.kpi.sql import epoch_s
from linespeed.kpi.states import StationTimeline
from linespeed.kpi.window import Window
from linespeed.plant.model import Line
from linespeed.store.schema import station_visits

Floats = NDArray[np.float64]

JOIN_GAP_S: Final = 1.0
"""Waiting up to this long between two cars does not interrupt an active period."""
MARGIN: Final = timedelta(minutes=15)
"""Visits this long before and after the window are read too, to see across its edges."""
LONGEST: Final = timedelta(days=7)
"""The analysis covers at most the window's last seven days (bottlenecks shift)."""


def analysis_window(window: Window) -> Window:
    """The part of `window` the bottleneck analysis covers: its last `LONGEST` at most."""
    return Window(max(window.since, window.until - LONGEST), window.until)


@dataclass(frozen=True)
class ActivePeriods:
    """One station's time in the window by activity, and its active periods."""

    planned_busy_s: float
    active_s: float
    periods: int
    starved_s: float
    blocked_s: float

    @property
    def average_s(self) -> float:
        """The average active period (0 without any)."""
        return self.active_s / self.periods if self.periods else 0.0


@dataclass
class _Visits:
    vins: NDArray[np.str_]
    start_s: Floats
    complete_s: Floats
    order: NDArray[np.intp]
    """Sorts `vins`, to find cars by VIN."""

    def positions(self, vins: NDArray[np.str_]) -> NDArray[np.intp]:
        """Where each of `vins` is in this station's sequence, or -1."""
        if not len(self.vins):
            return np.full(len(vins), -1, dtype=np.intp)
        ordered = self.vins[self.order]
        at = np.minimum(np.searchsorted(ordered, vins), len(ordered) - 1)
        return np.where(ordered[at] == vins, self.order[at], -1)


def active_periods(
    connection: Connection, line: Line, window: Window, timelines: dict[str, StationTimeline]
) -> dict[str, ActivePeriods]:
    """The active periods, starved and blocked time of every station of the line in `window`."""
    result: dict[str, ActivePeriods] = {}
    stations = line.stations
    loaded: list[_Visits | None] = [None] * len(stations)
    visits = station_visits.c
    statement = (
        select(visits.vin, epoch_s(visits.started_at), epoch_s(visits.completed_at))
        .where(
            visits.station == bindparam("station"),
            visits.completed_at >= window.since - MARGIN,
            visits.completed_at < window.until + MARGIN,
        )
        .order_by(visits.completed_at)
    )
    for index in range(len(stations) - 1, -1, -1):
        station = stations[index]
        loaded[index] = _load(
            connection.execute(statement, {"station": station.id}).all(), station.cycle_s
        )
        leave_s = _leave_times(loaded[index], line, index, loaded)
        result[station.id] = _periods(loaded[index], leave_s, window, timelines[station.id])
        if index + 4 < len(stations):
            loaded[index + 4] = None  # only the next few stations are looked at from here on
    return result


def _load(rows: Sequence[Any], cycle_s: float) -> _Visits:
    if not rows:
        empty = np.zeros(0, dtype=np.float64)
        return _Visits(np.zeros(0, dtype=np.str_), empty, empty, np.zeros(0, dtype=np.intp))
    vins, starts, completes = zip(*rows, strict=True)
    # To the millisecond: what SQLite's julianday() resolves, and plenty for durations.
    complete: Floats = np.array(completes, dtype=np.float64).round(3)
    start: Floats = np.array(starts, dtype=np.float64).round(3)  # None becomes NaN
    missing = np.isnan(start)
    if missing.any():
        # No started_at: the later of the previous completion and completion - cycle_s.
        previous = np.concatenate(([-np.inf], complete[:-1]))
        start[missing] = np.maximum(complete - cycle_s, previous)[missing]
    vin_array = np.array(vins, dtype=np.str_)
    return _Visits(vin_array, start, complete, np.argsort(vin_array, kind="stable"))


def _leave_times(
    visits: _Visits | None, line: Line, index: int, loaded: Sequence[_Visits | None]
) -> Floats:
    """D_j: when each car left the station, inferred from the next station it visited."""
    if visits is None:
        return np.zeros(0, dtype=np.float64)
    leave = visits.complete_s.copy()
    stations = line.stations
    open_cars = np.arange(len(visits.vins))
    places = stations[index].buffer
    for k in range(index + 1, len(stations)):
        downstream = loaded[k]
        if downstream is None or not len(open_cars):
            break
        found = downstream.positions(visits.vins[open_cars])
        here = found >= 0
        ahead = found[here] - places
        known = ahead >= 0
        cars = open_cars[here][known]
        leave[cars] = np.maximum(leave[cars], downstream.start_s[ahead[known]])
        if not stations[k].optional:
            break
        open_cars = open_cars[~here]
        places += 1 + stations[k].buffer
    return leave


def _periods(
    visits: _Visits | None, leave_s: Floats, window: Window, timeline: StationTimeline
) -> ActivePeriods:
    lo, hi = window.since_s, window.until_s
    pbt = timeline.planned_busy_s(lo, hi)
    if visits is None or not len(visits.vins):
        return ActivePeriods(pbt, 0.0, 0, 0.0, 0.0)
    stops = timeline.planned.union(timeline.unplanned)
    start, complete = visits.start_s, visits.complete_s
    next_start = np.concatenate((start[1:], [complete[-1]]))
    leave = np.clip(leave_s, complete, np.maximum(next_start, complete))
    next_start = np.maximum(next_start, leave)

    def outside(a: Floats, b: Floats, cover: Coverage) -> Floats:
        """Seconds of each [a, b) inside the window and not covered by `cover`."""
        a, b = np.clip(a, lo, hi), np.clip(b, lo, hi)
        return np.maximum(b - a, 0.0) - cover.within(a, b)

    working = outside(start, complete, timeline.planned)
    blocked = outside(complete, leave, stops)
    starved = outside(leave, next_start, stops)
    down_between = timeline.unplanned.within(np.clip(complete, lo, hi), np.clip(next_start, lo, hi))
    active = working + down_between
    # A new period starts after every car followed by more than JOIN_GAP_S of waiting.
    waits = np.concatenate(([0.0], (blocked + starved)[:-1]))
    period = np.cumsum(waits > JOIN_GAP_S)
    per_period = np.bincount(period, weights=active)
    return ActivePeriods(
        planned_busy_s=pbt,
        active_s=float(active.sum()),
        periods=int(np.count_nonzero(per_period > 0.0)),
        starved_s=float(starved.sum()),
        blocked_s=float(blocked.sum()),
    )
