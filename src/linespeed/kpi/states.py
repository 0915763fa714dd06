"""Station states in a window: planned stops, unplanned down time, and where they come from.

A station is in the state of its last `station.state` event (docs/events.md); before its
first one it is taken as running. `planned-stop` is planned; `down` and `changeover` are
unplanned (availability losses); `running`, `starved` and `blocked` are not stops.
Planned stops are a station's `planned-stop` states and, wherever those do not mark them,
the time the production calendar plans no work (`calendar`): outside the shifts the stored
plan names, or, on days no plan covers, outside the plant's shifts and inside their breaks
(with no shifts either, no planned stop). Each line says how many seconds of the window
each source decided, measured at its last station.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Final, Literal, TypeAlias, cast

import numpy as np
from sqlalchemy import Connection, bindparam, select

from linespeed.kpi.calendar import Calendar, Day
from linespeed.kpi.intervals import Coverage, Floats
from linespeed.kpi.report import DowntimeEntry
from linespeed.kpi.window import Window
from linespeed.plant.model import Line, Plant
from linespeed.store.schema import station_states, units

PLANNED: Final = frozenset({"planned-stop"})
UNPLANNED: Final = frozenset({"down", "changeover"})
SHIFT_PLAN_REASON: Final = "shift plan (plant file)"
CALENDAR_REASON: Final = "production plan (calendar)"
StateRow: TypeAlias = tuple[str, str, str | None, datetime, datetime | None]
"""A station state: station, state, reason, started_at, ended_at (None while it lasts)."""
SourceName: TypeAlias = Literal["station_states", "calendar", "shift_plan", "window"]
"""Where the planned stops of a stretch of time come from (keys of the breakdown)."""
SOURCES: Final[tuple[SourceName, ...]] = ("station_states", "calendar", "shift_plan", "window")
REASONS: Final[dict[SourceName, str]] = {
    "calendar": CALENDAR_REASON,
    "shift_plan": SHIFT_PLAN_REASON,
    "window": SHIFT_PLAN_REASON,
}
"""The reason given to planned stops that come from the production calendar, by source."""


@dataclass(frozen=True)
class Stop:
    """One stop state interval of a station, clipped to the window (epoch seconds)."""

    state: str
    reason: str | None
    start_s: float
    end_s: float


@dataclass
class StationTimeline:
    """A station's stops in the window: every interval, and the planned / unplanned unions."""

    stops: list[Stop] = field(default_factory=list)
    planned: Coverage = field(default_factory=lambda: Coverage(()))
    unplanned: Coverage = field(default_factory=lambda: Coverage(()))

    def planned_busy_s(self, begin: float, end: float) -> float:
        """PBT of [begin, end): its length minus planned stops."""
        return max(0.0, end - begin - self.planned.between(begin, end))

    def unplanned_s(self, begin: float, end: float) -> float:
        """Unplanned down time in [begin, end)."""
        return self.unplanned.between(begin, end)


@dataclass
class LineTimelines:
    """The timelines of one line's stations, the source of their planned stops, and when
    the line's cars left it."""

    stations: dict[str, StationTimeline]
    source_s: dict[str, float] = field(default_factory=dict)
    """Seconds of the window per source of planned stops (SOURCES)."""
    completed_s: Floats = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    """When the line's cars were completed (epoch seconds, sorted): the last one before the
    window, then those in it. Loaded only when a station of the line stopped unplanned."""
    _lost: dict[tuple[float, str], Coverage] = field(default_factory=dict, repr=False)

    @cached_property
    def any_unplanned(self) -> Coverage:
        """When at least one station of the line was down or in changeover."""
        return Coverage(
            span for timeline in self.stations.values() for span in timeline.unplanned.spans
        )

    def output_lost(self, takt_s: float, last_station: str) -> Coverage:
        """When the line's output was lost to a stop: a station was down or in changeover
        while the line's next car was overdue (more than `takt_s` of `last_station`'s
        planned busy time after the car before it left, and not left yet).

        Stops the buffers and the stations' slack absorbed are not in it; nor is output
        lost with no station down (starved for parts, slow cycles, refilling after a
        repair): that is a speed loss. With no car completed before, output is due from
        the first stop on.
        """
        key = (takt_s, last_station)
        if key not in self._lost:
            self._lost[key] = self._output_lost(takt_s, self.stations[last_station].planned)
        return self._lost[key]

    def _output_lost(self, takt_s: float, planned: Coverage) -> Coverage:
        down = self.any_unplanned
        if not len(down.starts):
            return down
        left = self.completed_s
        # The next car is due a takt of planned busy time after each one: planned stops
        # on the way push it back (fixed point of due = left + takt + planned(left, due)).
        due = left + takt_s
        for _ in range(32):
            later = left + takt_s + planned.within(left, due)
            if np.array_equal(later, due):
                break
            due = later
        starts = np.concatenate(([down.starts[0]], due))
        ends = np.concatenate((left, [down.ends[-1]]))
        overdue = Coverage(zip(starts.tolist(), ends.tolist(), strict=True))
        return Coverage(
            piece for start, end in down.spans for piece in overdue.clipped(start, end).spans
        )


def load_timelines(
    connection: Connection, plant: Plant, window: Window, calendar: Calendar
) -> dict[str, LineTimelines]:
    """Per line, per station: the stops that overlap the window, and where they come from.

    Unplanned stops come from station states. Planned stops are a station's `planned-stop`
    states and, wherever those do not mark them, the time the production calendar plans no
    work (outside the stored plan's shifts, or the plant's shifts on days no plan covers).
    """
    lo, hi = window.since_s, window.until_s
    runs = _runs(calendar.days, lo, hi)
    result: dict[str, LineTimelines] = {}
    for line in plant.lines:
        ids = [station.id for station in line.stations]
        stops = _from_states(connection, ids, window)
        working = calendar.working(line.id)
        off = [
            (source, a, b)
            for source, start, end in runs
            for a, b in working.complement(start, end).spans
        ]
        timelines: dict[str, StationTimeline] = {}
        marked = Coverage(())
        for station in ids:
            marked = Coverage(
                (stop.start_s, stop.end_s) for stop in stops[station] if stop.state in PLANNED
            )
            from_calendar = [
                Stop("planned-stop", REASONS[source], c, d)
                for source, c, d in _minus(off, marked.spans)
            ]
            timelines[station] = _timeline(stops[station] + from_calendar)
        # `marked` is now the last station's: production hours are measured there.
        seconds: dict[SourceName, float] = dict.fromkeys(SOURCES, 0.0)
        seconds["station_states"] = marked.total_s
        for source, start, end in runs:
            seconds[source] += end - start - marked.between(start, end)
        result[line.id] = LineTimelines(
            timelines, {name: round(v, 3) for name, v in seconds.items()}
        )
        if any(len(timeline.unplanned.starts) for timeline in timelines.values()):
            result[line.id].completed_s = _completions(connection, line, window)
    return result


def _completions(connection: Connection, line: Line, window: Window) -> Floats:
    """When the line's cars were completed: the last one before the window, then every one
    in it, in time order (epoch seconds)."""
    completed_at = units.c.completed_at
    before = connection.execute(
        select(completed_at)
        .where(units.c.line == line.id, completed_at < window.since)
        .order_by(completed_at.desc())
        .limit(1)
    ).scalar()
    inside = connection.execute(
        select(completed_at)
        .where(
            units.c.line == line.id,
            completed_at >= window.since,
            completed_at < window.until,
        )
        .order_by(completed_at)
    ).scalars()
    moments = ([before] if before is not None else []) + list(inside)
    return np.array([moment.timestamp() for moment in moments], dtype=np.float64)


def _minus(
    spans: list[tuple[SourceName, float, float]], cut: list[tuple[float, float]]
) -> list[tuple[SourceName, float, float]]:
    """`spans` (sorted, disjoint) less the sorted, disjoint intervals `cut`, in one sweep."""
    if not cut:
        return spans
    left: list[tuple[SourceName, float, float]] = []
    index = 0
    for source, start, end in spans:
        while index < len(cut) and cut[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(cut) and cut[probe][0] < end:
            if cut[probe][0] > cursor:
                left.append((source, cursor, cut[probe][0]))
            cursor = max(cursor, cut[probe][1])
            probe += 1
        if end > cursor:
            left.append((source, cursor, end))
    return left


def _runs(days: list[Day], lo: float, hi: float) -> list[tuple[SourceName, float, float]]:
    """The window cut into stretches of consecutive days with one source: (source, start, end)."""
    runs: list[tuple[SourceName, float, float]] = []
    for day in days:
        start, end = max(day.start_s, lo), min(day.end_s, hi)
        if end <= start:
            continue
        if runs and runs[-1][0] == day.source and runs[-1][2] == start:
            runs[-1] = (day.source, runs[-1][1], end)
        else:
            runs.append((day.source, start, end))
    return runs


def _clipped(stops: list[Stop], lo: float, hi: float) -> list[Stop]:
    return [
        Stop(stop.state, stop.reason, max(stop.start_s, lo), min(stop.end_s, hi))
        for stop in stops
        if min(stop.end_s, hi) > max(stop.start_s, lo)
    ]


def overlapping_states(
    connection: Connection, stations: list[str], window: Window, states: Collection[str]
) -> list[StateRow]:
    """The `station_states` rows (station, state, reason, started_at, ended_at) in one of
    `states` that overlap `window`: those that start in it, and each station's state when
    it opens (its last before `since`; a station's next state ends the one before, so no
    earlier one reaches the window). Both are index ranges, however long the history."""
    table = station_states.c
    columns = (table.station, table.state, table.reason, table.started_at, table.ended_at)
    rows = list(
        connection.execute(
            select(*columns).where(
                table.station.in_(stations),
                table.started_at >= window.since,
                table.started_at < window.until,
                table.state.in_(sorted(states)),
            )
        )
    )
    last_before = (
        select(*columns)
        .where(table.station == bindparam("station"), table.started_at < window.since)
        .order_by(table.started_at.desc())
        .limit(1)
    )
    for station in stations:
        rows.extend(
            row
            for row in connection.execute(last_before, {"station": station})
            if row.state in states and (row.ended_at is None or row.ended_at > window.since)
        )
    return cast(list[StateRow], rows)


def _from_states(
    connection: Connection, stations: list[str], window: Window
) -> dict[str, list[Stop]]:
    """Each station's stop states that overlap `window`, clipped to it."""
    by_station: dict[str, list[Stop]] = {station: [] for station in stations}
    lo, hi = window.since_s, window.until_s
    for station, state, reason, started_at, ended_at in overlapping_states(
        connection, stations, window, PLANNED | UNPLANNED
    ):
        begin = max(started_at.timestamp(), lo)
        end = min(hi if ended_at is None else ended_at.timestamp(), hi)
        if end > begin:
            by_station[station].append(Stop(state, reason, begin, end))
    return by_station


def _timeline(stops: list[Stop]) -> StationTimeline:
    stops = sorted((stop for stop in stops if stop.end_s > stop.start_s), key=lambda s: s.start_s)
    return StationTimeline(
        stops,
        Coverage((s.start_s, s.end_s) for s in stops if s.state in PLANNED),
        Coverage((s.start_s, s.end_s) for s in stops if s.state in UNPLANNED),
    )


def downtime_entries(
    timelines: dict[str, LineTimelines],
) -> tuple[list[DowntimeEntry], list[DowntimeEntry]]:
    """Downtime by (station, state, reason) and by (state, reason) over all stations.

    Each list is sorted longest first (then by station, state and reason).
    """
    per_station: dict[tuple[str | None, str, str | None], list[float]] = defaultdict(
        lambda: [0.0, 0]
    )
    total: dict[tuple[str | None, str, str | None], list[float]] = defaultdict(lambda: [0.0, 0])
    for line in timelines.values():
        for station, timeline in line.stations.items():
            for stop in timeline.stops:
                for key, sums in (
                    ((station, stop.state, stop.reason), per_station),
                    ((None, stop.state, stop.reason), total),
                ):
                    sums[key][0] += stop.end_s - stop.start_s
                    sums[key][1] += 1
    return _entries(per_station), _entries(total)


def _entries(sums: dict[tuple[str | None, str, str | None], list[float]]) -> list[DowntimeEntry]:
    entries = [
        DowntimeEntry(station, state, reason, state in PLANNED, round(seconds, 3), int(stops))
        for (station, state, reason), (seconds, stops) in sums.items()
    ]
    return sorted(
        entries,
        key=lambda e: (-e.seconds, e.station or "", e.state, e.reason or ""),
    )
